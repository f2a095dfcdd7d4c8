"""The control a distilled student is read against: what gold labels on its transfer texts would have bought. Writes the
student's training rows plus its transfer texts (the same texts, deduplicated and leak-guarded as `run_distill.py`
takes them) with their gold labels as `train.tsv`, and the student's validation rows as `validation.tsv`, for an
ordinary run on them (`--train_file`, `--validation_file`, `--sample_fraction 1`).

    python -m benchmarks.gold_transfer --data_dir data/sst2 --output_dir /tmp/gold
    make seeds RECIPE=recipes/fast.yaml VARY=init ARGS="--train_file /tmp/gold/train.tsv \
        --validation_file /tmp/gold/validation.tsv --test_file data/sst2/dev.tsv --sample_fraction 1"
"""

import argparse
from pathlib import Path

from errors import exit_in_one_line
from training import DistillationArguments, load_splits, parse_args
from training.transfer import transfer_set


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> None:
    """As train.tsv is written: a header, then review<TAB>label, the text as read (checked: no tab, no newline)."""
    path.write_text("".join(f"{text}\t{label}\n" for text, label in [("review", "label"), *rows]), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", required=True, help="The student's data folder (train.tsv, dev.tsv).")
    parser.add_argument("--output_dir", type=Path, required=True, help="Where train.tsv and validation.tsv go.")
    parser.add_argument("--recipe", default="recipes/distill.yaml", help="The student's recipe (its sample, split and transfer flags).")  # fmt: skip
    args = parser.parse_args()
    _, data_args, training_args = parse_args(["--config", args.recipe, "--data_dir", args.data_dir,
                                              "--model_name_or_path", "unused", "--teacher", "unused"],
                                             training_class=DistillationArguments)  # fmt: skip
    splits, data = load_splits(data_args)
    names = data.label_names
    gold = dict(zip(data.splits["train"]["review"], data.splits["train"]["label"], strict=True))
    transfer = transfer_set(splits, data, data_args, training_args)
    train = [(text, names[label]) for text, label in zip(splits["train"]["review"], splits["train"]["label"], strict=True)]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    write_tsv(args.output_dir / "train.tsv", train + [(text, names[gold[text]]) for text in transfer.texts])
    write_tsv(args.output_dir / "validation.tsv",
              [(text, names[label]) for text, label in zip(splits["eval"]["review"], splits["eval"]["label"], strict=True)])  # fmt: skip
    print(f"{args.output_dir}: train.tsv {len(train)} training rows + {len(transfer.texts)} transfer rows with their gold "
          f"labels ({transfer.counts()}); validation.tsv {len(splits['eval'])} rows")  # fmt: skip


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.gold_transfer")
