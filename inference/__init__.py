"""Using a finished run: predict on new text (`python -m inference.predict`) with PyTorch or ONNX Runtime, and export
it for CPU serving (`python -m inference.export`: ONNX fp32 and int8)."""

from .backends import Classifier
from .inputs import read_input
from .runs import BACKENDS, InferenceError, check_finished_run

__all__ = ["BACKENDS", "Classifier", "InferenceError", "check_finished_run", "read_input"]
