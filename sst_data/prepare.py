"""From a data folder to the notebook's tokenized train / validation split."""

import math
from pathlib import Path

import datasets
import numpy as np

from errors import ProjectError

from .builder import SST2, cache_fingerprint
from .schema import HEADER, SSTDataError


def load_sst2(
    data_dir: str | Path,
    cache_dir: str | Path | None = None,
    text_column: str = HEADER[0],
    label_column: str = HEADER[1],
) -> datasets.DatasetDict:
    """Read `train.tsv` (and `dev.tsv` / `test.tsv` when present) into a cached Arrow `DatasetDict` with the
    columns `review` and `label` (negative/positive), whatever the files call them."""
    data_dir = Path(data_dir)
    builder = SST2(
        data_dir=str(data_dir.resolve()),
        text_column=text_column,
        label_column=label_column,
        cache_dir=cache_dir,
        hash=cache_fingerprint(data_dir, text_column, label_column),
    )
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as err:
        # datasets wraps errors raised while generating; ours already say file, line and fix.
        if isinstance(err.__cause__, SSTDataError):
            raise err.__cause__ from None
        raise
    return builder.as_dataset()


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


def dev_split(sample: datasets.Dataset, dev: datasets.Dataset) -> datasets.DatasetDict:
    """Train on the whole sample, validate on the official dev split (`--validation_split dev`)."""
    check_split_sizes(len(sample), len(dev), "--validation_split dev: the sample and dev.tsv give",
                      "raise --sample_fraction, or give dev.tsv at least 2 reviews")  # fmt: skip
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
