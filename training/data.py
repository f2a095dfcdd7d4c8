"""The data a run trains and evaluates on: the notebook's sample of train.tsv split 70/30 (or validated on the
official dev split), the official dev / test splits when the folder has them, each tokenized."""

import logging

import datasets

from errors import ProjectError
from sst_data import dev_split, load_sst2, longest_first, notebook_sample, notebook_split, tokenize_reviews

logger = logging.getLogger(__name__)


def load_splits(data_args) -> dict[str, datasets.Dataset]:
    """The run's splits, by metric prefix: "train", "eval" (validated on after each epoch), then the labelled "dev" and
    "test" when the data folder has them, in the order every report lists them."""
    raw = load_sst2(data_args.data_dir, text_column=data_args.text_column, label_column=data_args.label_column)
    sample = notebook_sample(raw["train"], data_args.sample_fraction, data_args.sample_seed)
    if data_args.validation_split == "dev":
        if "dev" not in raw:
            raise ProjectError(f"--validation_split dev: {data_args.data_dir} holds no dev.tsv; add it or validate on the sample")
        split = dev_split(sample, raw.pop("dev"))  # evaluated as the validation split, not twice
    else:
        split = notebook_split(sample, data_args.validation_fraction, data_args.split_seed)
    logger.info("%d sampled rows: %d train / %d validation", len(sample), len(split["train"]), len(split["validation"]))
    return {"train": split["train"], "eval": split["validation"]} | {p: raw[p] for p in ("dev", "test") if p in raw}


def tokenize_splits(splits: dict[str, datasets.Dataset], tokenizer, data_args, training_args) -> dict[str, datasets.Dataset]:
    """Every split tokenized (the main process first: the others read its cache). With length-grouped training
    batches, the evaluated splits are read longest first: evaluation batches of similar length, too."""
    with training_args.main_process_first(desc="tokenization"):
        tokenized = {name: tokenize_reviews(data, tokenizer, data_args.max_length) for name, data in splits.items()}
    if training_args.train_sampling_strategy == "group_by_length":
        tokenized = {name: data if name == "train" else longest_first(data) for name, data in tokenized.items()}
    return tokenized
