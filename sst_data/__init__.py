"""Labelled text for a run: a data folder, files in any of five formats or a `datasets` dataset, every row checked into
Arrow, the label set taken, the notebook's sample and split, tokenization; and the official SST release (PTB trees)
converted into the notebook's TSV files, SST-2 or SST-5 (`python -m sst_data`)."""

from importlib import import_module

# Each name's module, imported on first use (PEP 562): the data flags (`arguments`) are parsed and checked before
# `datasets` and `pyarrow` load.
EXPORTS = {
    "DataSource": "arguments", "SOURCES": "arguments", "SOURCE_FLAGS": "arguments", "without_source": "arguments",
    "is_notebook_train": "builder", "read_rows": "builder", "train_rows": "builder", "unlabelled_test": "builder",
    "Data": "labels",
    "dev_split": "prepare", "load_data": "prepare", "longest_first": "prepare", "notebook_sample": "prepare",
    "notebook_split": "prepare", "tokenize_reviews": "prepare",
    "LABEL_NAMES": "schema", "SST5_LABEL_NAMES": "schema", "SSTDataError": "schema",
    "Reviews": "reviews", "read_input": "reviews",
    "describe": "sources", "source_fingerprint": "sources",
}  # fmt: skip
__all__ = list(EXPORTS)


def __getattr__(name: str):
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{EXPORTS[name]}"), name)
