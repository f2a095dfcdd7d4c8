"""From a data source to the notebook's tokenized train / validation split."""

import math
from pathlib import Path

import datasets
import numpy as np

from errors import ProjectError

from .labels import Data, check_and_encode
from .sources import DataSource, read_source


def load_data(source: DataSource, cache_dir: str | Path | None = None) -> Data:
    """The source's splits read into Arrow (cached: a second load reads the cache), every row checked, the labels as
    ids of the label set (`sst_data.labels`)."""
    return check_and_encode(read_source(source, cache_dir), source)


def notebook_sample(train: datasets.Dataset, fraction: float, seed: int) -> datasets.Dataset:
    """`df.sample(frac=fraction, random_state=seed)` exactly as pandas does it: same rows, same order."""
    size = round(fraction * len(train))
    return train.select(np.random.RandomState(seed).choice(len(train), size=size, replace=False))


def check_split_sizes(train_rows: int, validation_rows: int, what: str, fix: str) -> None:
    """Refuse a split that leaves nothing to train on or fewer than 2 rows to validate on, naming the sizes."""
    if train_rows < 1 or validation_rows < 2:
        raise ProjectError(f"{what} {train_rows} train / {validation_rows} validation rows; "
                           f"need at least 1 to train on and 2 to validate on: {fix}")  # fmt: skip


def notebook_split(sample: datasets.Dataset, validation_fraction: float, seed: int) -> datasets.DatasetDict:
    """The notebook's 70/30 split of its sample, seeded (the notebook's was not): splits `train` and `validation`."""
    validation_rows = math.ceil(validation_fraction * len(sample))  # as datasets' train_test_split rounds
    check_split_sizes(len(sample) - validation_rows, validation_rows, f"{len(sample)} sampled rows split into",
                      "raise --sample_fraction or change --validation_fraction")  # fmt: skip
    split = sample.train_test_split(test_size=validation_rows, seed=seed)
    return datasets.DatasetDict(train=split["train"], validation=split["test"])


def dev_split(sample: datasets.Dataset, dev: datasets.Dataset, what: str = "--validation_split dev: the sample and dev.tsv",
              name: str = "dev.tsv") -> datasets.DatasetDict:  # fmt: skip
    """Train on the whole sample, validate on the official dev split (`--validation_split dev`), or on the source's
    own validation split (`what` and `name` say which, in a refusal)."""
    check_split_sizes(len(sample), len(dev), f"{what} give", f"raise --sample_fraction, or give {name} at least 2 reviews")
    return datasets.DatasetDict(train=sample, validation=dev)


def tokenize_reviews(dataset: datasets.Dataset, tokenizer, max_length: int) -> datasets.Dataset:
    """Batched, cached WordPiece encoding with special tokens, truncated to `max_length`.

    Rows are stored unpadded: padding is the collator's job (to `max_length` like the notebook,
    or to each batch's longest row, which gives the same outputs for less work).
    """
    return dataset.map(
        lambda batch: tokenizer(batch["review"], truncation=True, max_length=max_length),
        batched=True,
        desc=f"Tokenizing (truncate to {max_length})",
    )


def longest_first(dataset: datasets.Dataset) -> datasets.Dataset:
    """The rows longest first (a stable sort, so a fixed order): evaluation batches of similar length pad little."""
    return dataset.select(np.argsort([-len(ids) for ids in dataset["input_ids"]], kind="stable"))
