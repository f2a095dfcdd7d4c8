"""A finished run's ONNX export as prediction finds it (after `make export`)."""

from pathlib import Path

from run_folder import MODEL_FILES, InferenceError, check_finished_run

ONNX_FOLDER = "onnx"
# Backend → its model file in OUTPUT_DIR/onnx/ (Optimum's names); "torch" reads the run folder itself.
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_quantized.onnx"}
BACKENDS = ("torch", *ONNX_FILES)


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
