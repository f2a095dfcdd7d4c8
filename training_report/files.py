"""Files a run writes and reads back: atomic writes, the results that mark a run finished, its checkpoints."""

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

from transformers import TrainerState

# Written last, so its presence means the run finished: everything else is on disk by then.
FINISHED_MARKER = "all_results.json"


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path` to write; it replaces `path` only when the block completes,
    so a crash never leaves a truncated file that looks finished."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename, so a power cut leaves the old file or the new one


def save_results(output_dir: Path, state: TrainerState, results: dict[str, dict]) -> None:
    """What `Trainer.save_metrics` and `save_state` write, `{split}_results.json` for each split of `results`
    ("train", "eval", ...), `trainer_state.json` and `all_results.json`: the same files, written atomically,
    the marker of a finished run last."""
    output_dir = Path(output_dir)
    for split, metrics in results.items():
        write_atomic(output_dir / f"{split}_results.json", json.dumps(metrics, indent=4, sort_keys=True))
    with atomic_path(output_dir / "trainer_state.json") as tmp:
        state.save_to_json(str(tmp))
    all_results = {key: value for metrics in results.values() for key, value in metrics.items()}
    write_atomic(output_dir / FINISHED_MARKER, json.dumps(all_results, indent=4, sort_keys=True))


def is_complete_checkpoint(folder: Path) -> bool:
    """The Trainer writes a checkpoint's `trainer_state.json` last, so one cut off while saving
    (killed, disk full) lacks it or holds a truncated one."""
    try:
        json.loads((Path(folder) / "trainer_state.json").read_text(encoding="utf-8"))
        return True
    except (OSError, ValueError):
        return False


def last_complete_checkpoint(output_dir: Path) -> Path | None:
    """The newest `checkpoint-N` in `output_dir` that the Trainer finished writing."""
    found = (re.fullmatch(r"checkpoint-(\d+)", path.name) for path in Path(output_dir).glob("checkpoint-*"))
    steps = {int(m[1]): Path(output_dir) / m[0] for m in found if m}
    return next((steps[step] for step in sorted(steps, reverse=True) if is_complete_checkpoint(steps[step])), None)
