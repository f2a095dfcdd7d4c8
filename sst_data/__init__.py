"""SST-2 data: TSV files validated into Arrow, the notebook's sample and split, tokenization; and the official
SST release (PTB trees) converted into those TSV files (`python -m sst_data`)."""

from .builder import data_fingerprint, train_rows, unlabelled_test
from .prepare import dev_split, load_sst2, longest_first, notebook_sample, notebook_split, tokenize_reviews
from .schema import LABEL_NAMES, SSTDataError

__all__ = [
    "LABEL_NAMES",
    "SSTDataError",
    "data_fingerprint",
    "dev_split",
    "load_sst2",
    "longest_first",
    "notebook_sample",
    "notebook_split",
    "tokenize_reviews",
    "train_rows",
    "unlabelled_test",
]
