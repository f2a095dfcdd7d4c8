"""From a data folder to the notebook's tokenized train / validation split."""

from pathlib import Path

import datasets
import numpy as np

from .builder import HEADER, SST2, SSTDataError, fingerprint


def load_sst2(
    data_dir: str | Path,
    cache_dir: str | Path | None = None,
    text_column: str = HEADER[0],
    label_column: str = HEADER[1],
) -> datasets.DatasetDict:
    """Read `train.tsv` (and `dev.tsv` / `test.tsv` when present) into a cached Arrow `DatasetDict` with the
    columns `review` and `label` (negative/positive), whatever the files call them."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise SSTDataError(f"{data_dir}: data folder not found; pass --data_dir with a folder holding train.tsv")
    if not (data_dir / "train.tsv").is_file():
        raise SSTDataError(f"{data_dir}: holds no train.tsv; pass --data_dir with a folder holding train.tsv")
    builder = SST2(
        data_dir=str(data_dir.resolve()),
        text_column=text_column,
        label_column=label_column,
        cache_dir=cache_dir,
        hash=fingerprint(data_dir, text_column, label_column),
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


def tokenize(dataset, tokenizer, max_length: int):
    """Batched, cached WordPiece encoding with special tokens, truncated to `max_length`.

    Rows are stored unpadded: padding is the collator's job (to `max_length` like the notebook,
    or to each batch's longest row, which gives the same outputs for less work).
    """
    return dataset.map(
        lambda batch: tokenizer(batch["review"], truncation=True, max_length=max_length),
        batched=True,
        desc=f"Tokenizing (truncate to {max_length})",
    )
