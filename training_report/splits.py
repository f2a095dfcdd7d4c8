"""How every output names an evaluated split: its metric-key prefix, its title in the reports and the card,
and the dataset and split the Hub's `model-index` files it under."""

from dataclasses import dataclass, replace

HUB_DATASET = "stanfordnlp/sst2"  # the Hub's SST-2: its `validation` split is the official dev set


@dataclass(frozen=True)
class Split:
    prefix: str  # of the metric keys: eval_accuracy, dev_accuracy, test_accuracy
    title: str
    hub_dataset: str = ""  # where the Hub's model-index files it (a run's splits; not a file predicted later)
    hub_dataset_name: str = ""
    hub_split: str = ""


def split_names(validation_fraction: float, validation_split: str = "sample") -> dict[str, Split]:
    """The splits a run may evaluate, in the order every report lists them. The validation split (`eval_*`) is
    the held-out part of the sample, or, with `validation_split="dev"`, the official dev split itself."""
    percent = f"{100 * validation_fraction:g}%"
    dev = Split("dev", "dev (official)", HUB_DATASET, "SST-2", "validation")
    held_out = Split(
        "eval", f"validation (held-out {percent} of the sample)", "sst2-notebook-holdout",
        f"SST-2 train.tsv, the notebook's held-out {percent}", "validation",
    )  # fmt: skip
    return {
        "eval": held_out if validation_split == "sample" else replace(dev, prefix="eval", title="validation (dev, official)"),
        "dev": dev,
        "test": Split("test", "test (official)", HUB_DATASET, "SST-2", "test"),
    }
