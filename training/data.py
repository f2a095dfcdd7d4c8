"""The data a run trains and evaluates on: the notebook's sample of the training rows split 70/30 (or validated on the
official dev split, or on the source's own validation file or split), the dev / test splits when the source has them,
each tokenized."""

import logging

import datasets

from errors import ProjectError
from sst_data import Data, dev_split, load_data, longest_first, notebook_sample, notebook_split, tokenize_reviews

logger = logging.getLogger(__name__)


def load_splits(data_args) -> tuple[dict[str, datasets.Dataset], Data]:
    """The run's splits, by metric prefix: "train", "eval" (validated on after each epoch), then the labelled "dev" and
    "test" when the source has them, in the order every report lists them; and the checked data they came from."""
    data = load_data(data_args)
    splits = dict(data.splits)
    sample = notebook_sample(splits.pop("train"), data_args.sample_fraction, data_args.sample_seed)
    if "validation" in splits:
        where = data.where["validation"]
        split = dev_split(sample, splits.pop("validation"), f"the sample and {where}", where)
    elif data_args.validation_split == "dev":
        if "dev" not in splits:
            raise ProjectError(f"--validation_split dev: {data_args.data_dir} holds no dev.tsv; add it or validate on the sample")
        split = dev_split(sample, splits.pop("dev"))  # evaluated as the validation split, not twice
    else:
        split = notebook_split(sample, data_args.validation_fraction, data_args.split_seed)
    logger.info("%d sampled rows: %d train / %d validation", len(sample), len(split["train"]), len(split["validation"]))
    return {"train": split["train"], "eval": split["validation"]} | {p: splits[p] for p in ("dev", "test") if p in splits}, data


def tokenize_splits(splits: dict[str, datasets.Dataset], tokenizer, data_args, training_args) -> dict[str, datasets.Dataset]:
    """Every split tokenized (the main process first: the others read its cache). With length-grouped training
    batches, the evaluated splits are read longest first: evaluation batches of similar length, too."""
    with training_args.main_process_first(desc="tokenization"):
        tokenized = {name: tokenize_reviews(data, tokenizer, data_args.max_length) for name, data in splits.items()}
    if training_args.train_sampling_strategy == "group_by_length":
        tokenized = {name: data if name == "train" else longest_first(data) for name, data in tokenized.items()}
    return tokenized
