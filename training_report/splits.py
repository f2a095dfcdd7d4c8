"""How every output names an evaluated split: its metric-key prefix, its title in the reports and the card,
and the dataset and split the Hub's `model-index` files it under."""

from dataclasses import dataclass, replace
from pathlib import Path

SST = {"stanfordnlp/sst2": "SST-2", "SetFit/sst5": "SST-5"}  # the Hub's copies of the SST releases `make data` converts
SST2_FOLDER = {"kind": "folder", "hub_dataset": "stanfordnlp/sst2", "dataset": None}  # sst_data.describe of data/sst2


@dataclass(frozen=True)
class Split:
    prefix: str  # of the metric keys: eval_accuracy, dev_accuracy, test_accuracy
    title: str
    hub_dataset: str = ""  # where the Hub's model-index files it (a run's splits; not a file predicted later)
    hub_dataset_name: str = ""
    hub_split: str = ""


def split_names(validation_fraction: float, validation_split: str = "sample", data: dict | None = None,
                where: dict[str, str] | None = None) -> dict[str, Split]:  # fmt: skip
    """The splits a run may evaluate, in the order every report lists them. The validation split (`eval_*`) is the
    held-out part of the sample, or, with `validation_split="dev"`, the official dev split itself, or the source's own
    validation file or split. `data` is `sst_data.describe`'s record of the source (default: an SST-2 folder), `where`
    the file or dataset split of each role."""
    data, where = data or SST2_FOLDER, where or {}
    percent = f"{100 * validation_fraction:g}%"
    hub = data["hub_dataset"]

    def own(role: str) -> Split:
        """A split of a user's data: titled by its file, or by the dataset's split."""
        title = where.get(role, role) if data["kind"] == "dataset" else Path(where.get(role, role)).name
        split = ((data["dataset"] or {}).get("splits") or {}).get(role) or role
        return Split(role, f"{role} ({title})", hub or title, hub or title, split)

    if data["kind"] == "folder" and hub in SST:
        name = SST[hub]
        dev = Split("dev", "dev (official)", hub, name, "validation")
        test = Split("test", "test (official)", hub, name, "test")
        held_out = Split("eval", f"validation (held-out {percent} of the sample)", f"{name.lower().replace('-', '')}-notebook-holdout",
                         f"{name} train.tsv, the notebook's held-out {percent}", "validation")  # fmt: skip
    else:
        dev, test, train = own("dev"), own("test"), own("train")
        held_out = Split("eval", f"validation (held-out {percent} of the sample)", train.hub_dataset,
                         f"{train.hub_dataset_name}, the held-out {percent}", train.hub_split)  # fmt: skip
    if "validation" in where:
        evaluated = replace(own("validation"), prefix="eval")
    elif validation_split == "dev":
        evaluated = replace(dev, prefix="eval", title="validation (dev, official)" if hub in SST else f"validation {dev.title[4:]}")
    else:
        evaluated = held_out
    return {"eval": evaluated, "dev": dev, "test": test}
