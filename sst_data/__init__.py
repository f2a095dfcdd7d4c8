"""SST-2 data: TSV files validated into Arrow, the notebook's sample and split, tokenization."""

from .builder import LABEL_NAMES, SSTDataError
from .prepare import load_sst2, notebook_sample, tokenize

__all__ = ["LABEL_NAMES", "SSTDataError", "load_sst2", "notebook_sample", "tokenize"]
