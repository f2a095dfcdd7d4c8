"""SST-2 data: TSV files validated into Arrow, the notebook's sample and split, tokenization; and the official
SST release (PTB trees) converted into those TSV files (`python -m sst_data`)."""

from .builder import LABEL_NAMES, SSTDataError
from .prepare import load_sst2, notebook_sample, tokenize

__all__ = ["LABEL_NAMES", "SSTDataError", "load_sst2", "notebook_sample", "tokenize"]
