"""How every output names an evaluated split: its metric-key prefix, its title in the reports and the card,
and the dataset and split the Hub's `model-index` files it under."""

from dataclasses import dataclass

HUB_DATASET = "stanfordnlp/sst2"  # the Hub's SST-2: its `validation` split is the official dev set


@dataclass(frozen=True)
class Split:
    prefix: str  # of the metric keys: eval_accuracy, dev_accuracy, test_accuracy
    title: str
    hub_dataset: str
    hub_dataset_name: str
    hub_split: str


def split_names(validation_fraction: float) -> dict[str, Split]:
    """The splits a run may evaluate, in the order every report lists them."""
    percent = f"{100 * validation_fraction:g}%"
    return {
        "eval": Split(
            "eval", f"validation (held-out {percent} of the sample)", "sst2-notebook-holdout",
            f"SST-2 train.tsv, the notebook's held-out {percent}", "validation",
        ),
        "dev": Split("dev", "dev (official)", HUB_DATASET, "SST-2", "validation"),
        "test": Split("test", "test (official)", HUB_DATASET, "SST-2", "test"),
    }  # fmt: skip
