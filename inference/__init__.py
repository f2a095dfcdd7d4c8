"""Using a finished run: predict on new text (`python -m inference.predict`) with PyTorch or ONNX Runtime, and export
it for CPU serving (`python -m inference.export`: ONNX fp32 and int8)."""

from .backends import Classifier
from .runs import BACKENDS

__all__ = ["BACKENDS", "Classifier"]
