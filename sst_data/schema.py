"""Names shared by the TSV reader, the tree converter and the run: the files' layout, the labels, the splits,
and the data's error type."""

from errors import ProjectError

LABEL_NAMES = ["negative", "positive"]
LABEL_IDS = ["0", "1"]  # GLUE's SST-2 layout: 0 negative, 1 positive
HEADER = ("review", "label")
# dev.tsv and test.tsv are optional; train.tsv is required.
SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
# What `python -m sst_data` made a folder's files of (train.tsv's rows: "sentences" or "phrases"), beside them.
CONVERSION_FILE = "conversion.json"
# The reference notebook's own train.tsv (one sentence per row), by its sha256.
NOTEBOOK_TRAIN_SHA256 = "736235788bdb98f13b0d00bc0a4b224e3305d6c46832a0cb63d46725eef35d8b"


class SSTDataError(ProjectError, ValueError):
    """A data file the loader cannot use; the message names file, line and fix."""
