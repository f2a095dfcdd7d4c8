"""A run's data flags (`run_finetune.py --help`), as `run_classification.py` names them: one source (a data folder,
files, or a `datasets` dataset), the columns read, the label set's order. Light to import: the arguments are checked
before the data libraries load."""

from dataclasses import dataclass, field
from pathlib import Path

from .schema import FORMATS, HEADER

FILE_FLAGS = {"train": "train_file", "validation": "validation_file", "test": "test_file"}
# The flags that each name a whole source, and all the flags that say where the data is and what its labels are: a
# source given on the command line (or in a recipe) replaces every one of them that a recipe (or its base:) set.
SOURCES = ("data_dir", "train_file", "dataset_name")
SOURCE_FLAGS = (*SOURCES, "validation_file", "test_file", "dataset_config_name", "train_split_name",
                "validation_split_name", "test_split_name", "label_names")  # fmt: skip


def without_source(settings: dict, named: set[str]) -> dict:
    """`settings` (a recipe's) less its data source, when `named` (the flags given over them) name another source."""
    return {key: value for key, value in settings.items() if key not in SOURCE_FLAGS} if named & set(SOURCES) else settings


@dataclass(kw_only=True)
class DataSource:
    """The data flags (`run_finetune.py --help`): one source, the columns read, the label set's order."""

    data_dir: str | None = field(
        default=None,
        metadata={"help": "Folder holding train.tsv (review<TAB>label); dev.tsv and test.tsv are evaluated when present "
                  "(a test.tsv without labels, as GLUE's, is predicted). Labels 0/1 there are GLUE's SST-2 ids: negative, "
                  "positive. One of --data_dir, --train_file, --dataset_name."},
    )  # fmt: skip
    train_file: str | None = field(
        default=None, metadata={"help": "Training data: a .tsv, .csv, .jsonl/.json (JSON Lines) or .parquet file."}
    )
    validation_file: str | None = field(
        default=None,
        metadata={"help": "Validated on after each epoch, instead of --validation_fraction of the training rows."},
    )
    test_file: str | None = field(
        default=None, metadata={"help": "Scored after training (or, without a label column, predicted)."}
    )
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "A dataset for datasets.load_dataset: a Hub id, a local dataset folder, or a folder written by "
                  "save_to_disk."},
    )  # fmt: skip
    dataset_config_name: str | None = field(default=None, metadata={"help": "The --dataset_name configuration."})
    train_split_name: str = field(default="train", metadata={"help": "The --dataset_name split that trains."})
    validation_split_name: str | None = field(
        default=None,
        metadata={"help": "The --dataset_name split validated on after each epoch (default: 'validation' when it has "
                  "one; else --validation_fraction of the training rows)."},
    )  # fmt: skip
    test_split_name: str | None = field(
        default=None, metadata={"help": "The --dataset_name split scored after training (default: 'test' when it has one)."}
    )
    text_column: str = field(default=HEADER[0], metadata={"help": "The column holding the text (GLUE: sentence)."})
    label_column: str = field(default=HEADER[1], metadata={"help": "The column holding the label."})
    label_names: str | None = field(
        default=None,
        metadata={"help": "The labels in id order, comma-separated (e.g. 'very negative,negative,neutral,positive,very "
                  "positive'); integer labels in the data are their ids. Default: the training rows' labels, sorted."},
    )  # fmt: skip

    def __post_init__(self):
        given = [f"--{name}" for name in ("data_dir", "train_file", "dataset_name") if getattr(self, name)]
        files = [f"--{name}" for name in FILE_FLAGS.values() if getattr(self, name)]
        if self.dataset_name and files:
            raise ValueError(f"--dataset_name and {files[0]}: one source of data; pass the dataset or the files")
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)}: one source of data; pass one of them")
        if not given:
            if files:
                raise ValueError(f"{files[0]}: also pass --train_file (the training data)")
            raise ValueError("no data: pass --data_dir, --train_file or --dataset_name")
        if self.data_dir and files:
            raise ValueError(f"--data_dir and {files[0]}: one source of data; pass the folder or the files")
        for flag in files:
            suffix = Path(getattr(self, flag[2:])).suffix.lower()
            if suffix not in FORMATS:
                raise ValueError(f"{flag} {getattr(self, flag[2:])}: unknown format '{suffix}'; give a "
                                 f"{', '.join(FORMATS)} file")  # fmt: skip
        if self.text_column == self.label_column:
            raise ValueError(f"--text_column and --label_column are both '{self.text_column}': name two columns")
        if self.label_names is not None and len(self.names()) < 2:
            raise ValueError(f"--label_names {self.label_names}: name at least two labels, comma-separated")
        if self.label_names is not None and len(set(self.names())) < len(self.names()):
            raise ValueError(f"--label_names {self.label_names}: a label named twice; name each once")

    def names(self) -> list[str] | None:
        """--label_names as a list, or None."""
        return None if self.label_names is None else [name.strip() for name in self.label_names.split(",")]

    @property
    def kind(self) -> str:
        return "folder" if self.data_dir else "files" if self.train_file else "dataset"
