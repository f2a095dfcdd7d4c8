"""The project's `evaluate` modules, loaded by path so that they work offline."""

from pathlib import Path

CLASSIFICATION = str(Path(__file__).resolve().parent / "classification")  # evaluate.load(CLASSIFICATION)
