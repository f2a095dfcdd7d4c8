"""Labelled text for a run: a data folder, files in any of five formats or a `datasets` dataset, every row checked into
Arrow, the label set taken, the notebook's sample and split, tokenization; and the official SST release (PTB trees)
converted into the notebook's TSV files, SST-2 or SST-5 (`python -m sst_data`)."""

from .builder import is_notebook_train, read_rows, train_rows, unlabelled_test
from .labels import Data
from .prepare import dev_split, load_data, longest_first, notebook_sample, notebook_split, tokenize_reviews
from .schema import LABEL_NAMES, SST5_LABEL_NAMES, SSTDataError
from .sources import SOURCE_FLAGS, SOURCES, DataSource, describe, source_fingerprint, without_source

__all__ = [
    "LABEL_NAMES",
    "SOURCES",
    "SOURCE_FLAGS",
    "SST5_LABEL_NAMES",
    "Data",
    "DataSource",
    "SSTDataError",
    "describe",
    "dev_split",
    "is_notebook_train",
    "load_data",
    "longest_first",
    "notebook_sample",
    "notebook_split",
    "read_rows",
    "source_fingerprint",
    "tokenize_reviews",
    "train_rows",
    "unlabelled_test",
    "without_source",
]
