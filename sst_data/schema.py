"""Names shared by the TSV reader, the tree converter and the run: the files' layout, the labels, the splits,
and the data's error type."""

from errors import ProjectError

LABEL_NAMES = ["negative", "positive"]
LABEL_IDS = ["0", "1"]  # GLUE's SST-2 layout: 0 negative, 1 positive
HEADER = ("review", "label")
# dev.tsv and test.tsv are optional; train.tsv is required.
SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}


class SSTDataError(ProjectError, ValueError):
    """A data file the loader cannot use; the message names file, line and fix."""
