"""The Trainer's checkpoints in an output folder: which ones are whole, and the newest of those."""

import json
import re
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR


def is_complete_checkpoint(folder: Path) -> bool:
    """The Trainer writes a checkpoint's `trainer_state.json` last, so one cut off while saving
    (killed, disk full) lacks it or holds a truncated one."""
    try:
        json.loads((Path(folder) / "trainer_state.json").read_text(encoding="utf-8"))
        return True
    except (OSError, ValueError):
        return False


def last_complete_checkpoint(output_dir: Path) -> Path | None:
    """The newest `checkpoint-N` in `output_dir` that the Trainer finished writing (transformers'
    `get_last_checkpoint` returns the newest one even when it was cut off while saving)."""
    found = (re.fullmatch(rf"{PREFIX_CHECKPOINT_DIR}-(\d+)", p.name) for p in Path(output_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*"))
    steps = {int(m[1]): Path(output_dir) / m[0] for m in found if m}
    return next((steps[step] for step in sorted(steps, reverse=True) if is_complete_checkpoint(steps[step])), None)
