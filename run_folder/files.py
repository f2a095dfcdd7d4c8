"""The files of a run folder: the names of every output, atomic writes, and the results that mark a run finished."""

import fnmatch
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from errors import ProjectError

# Written last, so its presence means the run finished: everything else is on disk by then.
FINISHED_MARKER = "all_results.json"
# The settings a run started with (run_state.settings): written first, compared by every rerun.
SETTINGS_FILE = "run_settings.json"
# What the model card says, stored so that the card can be rendered again whole (training_report.model_card).
CARD_INPUTS = "model_card.json"
# A student's summary of what it learnt from (training.distill): its teacher, loss and transfer set.
DISTILLATION_FILE = "distillation.json"
# What save_pretrained writes of a model and its tokenizer (fnmatch patterns): also what identifies a model folder.
MODEL_FOLDER_PATTERNS = [
    "config.json", "generation_config.json", "model.safetensors", "model-*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt",
    "vocab.json", "merges.txt", "tokenizer.model", "spiece.model", "chat_template.jinja",
]  # fmt: skip
# Every name the suite writes into an output folder (fnmatch patterns): what --overwrite_output_dir removes.
OUTPUT_PATTERNS = [
    SETTINGS_FILE, FINISHED_MARKER, "*_results.json", "trainer_state.json", "training_args.bin", "checkpoint-*",
    "runs", "hub_upload", "onnx", "epoch_stats.csv", "epoch_stats.md", "evaluation.md", "training_curves.png",
    "*_confusion_matrix.png", "*_misclassified.tsv", "test_predictions.tsv", "README.md", CARD_INPUTS, ".*.tmp",  # .*.tmp: writes cut off
    DISTILLATION_FILE, "teacher_logits",  # a student's summary; a teacher's cached logits (training.teacher)
    *MODEL_FOLDER_PATTERNS,
]  # fmt: skip


def written_by_the_suite(name: str) -> bool:
    """Whether `name`, a file or folder directly in an output folder, is one the suite writes."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in OUTPUT_PATTERNS)


def check_can_write(path: Path, flag: str) -> None:
    """That `path` can be written (created with its missing folders), checked before any work so that the user gets
    one line naming `flag` rather than a PermissionError after it; nothing is created."""
    path = Path(path)
    existing = next(folder for folder in [path, *path.parents] if folder.exists())
    if existing != path and not existing.is_dir():
        raise ProjectError(f"{flag} {path}: {existing} is a file, not a folder; choose another {flag}")
    try:
        tempfile.TemporaryFile(dir=existing if existing.is_dir() else existing.parent).close()
    except OSError as err:
        raise ProjectError(f"{flag} {path}: cannot write there ({err.strerror}); choose a writable place") from None


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


def combined(results: dict[str, dict]) -> dict:
    """Every split's metrics in one mapping, as in all_results.json."""
    return {key: value for metrics in results.values() for key, value in metrics.items()}


def mark_finished(output_dir: Path, results: dict[str, dict]) -> None:
    """`all_results.json`, every split's metrics in one file: written atomically, and last (its presence means the run
    finished); the Trainer's own `save_metrics(combined=True)` would do neither."""
    write_atomic(Path(output_dir) / FINISHED_MARKER, json.dumps(combined(results), indent=4, sort_keys=True))
