"""A run folder as prediction and export find it: finished, with a model, and (after `make export`) its ONNX files."""

from pathlib import Path

from errors import ProjectError
from run_folder import FINISHED_MARKER

MODEL_FILES = ("config.json", "model.safetensors")
ONNX_FOLDER = "onnx"
# Backend → its model file in OUTPUT_DIR/onnx/ (Optimum's names); "torch" reads the run folder itself.
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_quantized.onnx"}
BACKENDS = ("torch", *ONNX_FILES)
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


def model_files(run: Path) -> dict[str, Path]:
    """Each backend's model file in `run`: its weights, and its ONNX files once exported."""
    return {"torch": run / MODEL_FILES[1]} | {backend: run / ONNX_FOLDER / name for backend, name in ONNX_FILES.items()}


def model_folder(run: Path, backend: str) -> Path:
    """Where `backend` loads from: the run folder (torch) or its ONNX export, checked to be there."""
    run = check_finished_run(run)
    if backend == "torch":
        return run
    folder = run / ONNX_FOLDER
    if not (folder / ONNX_FILES[backend]).is_file():
        raise InferenceError(
            f"{folder / ONNX_FILES[backend]}: not found; export the run first: make export OUTPUT_DIR={run}"
        )
    return folder
