"""A finished run as the commands that use it find it (predict, export, serve, a student's teacher): finished, with
its model."""

from pathlib import Path

from errors import ProjectError

from .files import FINISHED_MARKER

MODEL_FILES = ("config.json", "model.safetensors")
PASS_A_RUN = "pass the --output_dir of a finished run_finetune.py run"


class InferenceError(ProjectError):
    """A run folder or export that prediction cannot use; the message is one line naming it and the fix."""


def check_finished_run(folder: Path, then: str = "predict") -> Path:
    """`folder`, if it holds a finished run with its model; `InferenceError` saying what is missing otherwise, and
    what to do before `then` (predict, export)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InferenceError(f"{folder}: run folder not found; {PASS_A_RUN}")
    finished = (folder / FINISHED_MARKER).is_file()
    has_model = all((folder / name).is_file() for name in MODEL_FILES)
    if not finished and (has_model or any(folder.glob("checkpoint-*"))):
        raise InferenceError(
            f"{folder}: the run is unfinished (no {FINISHED_MARKER}); rerun its training command to finish it "
            f"(it resumes from its last checkpoint), then {then}"
        )
    if not has_model:
        raise InferenceError(f"{folder}: holds no model ({', '.join(MODEL_FILES)}); {PASS_A_RUN}")
    return folder
