"""Names shared by the readers, the tree converter and the run: the files' layout, the labels of the SST releases, the
splits, and the data's error type."""

from errors import ProjectError

LABEL_NAMES = ["negative", "positive"]  # SST-2's, ids 0 and 1 as in GLUE
SST5_LABEL_NAMES = ["very negative", "negative", "neutral", "positive", "very positive"]  # the trees' 0..4, in order
HEADER = ("review", "label")
# dev.tsv and test.tsv are optional; train.tsv is required.
SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
# What `python -m sst_data` made a folder's files of (train.tsv's rows: "sentences" or "phrases"; the labels in
# order), beside them.
CONVERSION_FILE = "conversion.json"
# The reference notebook's own train.tsv (one sentence per row), by its sha256.
NOTEBOOK_TRAIN_SHA256 = "736235788bdb98f13b0d00bc0a4b224e3305d6c46832a0cb63d46725eef35d8b"
# The file formats a data file may have, by suffix, and the `datasets` builder that reads each (TSV: sst_data.builder).
FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


class SSTDataError(ProjectError, ValueError):
    """A data file the loader cannot use; the message names file, line and fix."""
