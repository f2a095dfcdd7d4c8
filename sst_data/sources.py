"""Where a run's labelled text comes from, read into Arrow: a data folder in the notebook's layout (`train.tsv`, and
`dev.tsv` / `test.tsv` when there), files named by flag (`.tsv`, `.csv`, `.jsonl`/`.json`, `.parquet`, formats free to
differ), or a `datasets` dataset (a Hub id, a local dataset folder, or a `save_to_disk` folder). The flags are
`run_classification.py`'s. Every source gives the same thing: splits by role ("train", and "validation", "dev" or
"test" when there), each with the columns `review` and `label` as the data holds them, and where each row came from."""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow.compute as pc
from huggingface_hub.constants import HF_HUB_CACHE

from .arguments import FILE_FLAGS, DataSource
from .builder import (
    TsvFile,
    check_data_dir,
    conversion_record,
    folder_fingerprint,
    has_column,
    read_rows,
    train_rows,
    tsv_cache_fingerprint,
)
from .schema import FORMATS, NOTEBOOK_TRAIN_SHA256, SPLIT_FILES, SSTDataError

logger = logging.getLogger(__name__)
GLUE_INDEX = "index"  # the first column of GLUE's unlabelled test.tsv (index<TAB>sentence)
@dataclass
class RawSplit:
    """One split as the source holds it: `data` has the columns `review` and `label` (absent: unlabelled), or
    `review` and `index` for an unlabelled split; `where` names it in messages and reports."""

    data: datasets.Dataset
    where: str
    path: Path | None = None  # the file, when it is one
    labelled: bool = True

    def row(self, index: int) -> str:
        """Where row `index` is, as an error message names it: the file and line, or the split and row."""
        if self.path is None:
            return f"{self.where}, row {index + 1}"
        fmt = FORMATS[self.path.suffix.lower()]
        if fmt == "parquet":
            return f"{self.where}, row {index + 1}"
        return f"{self.where}:{csv_line(self.path, index) if fmt == 'csv' else index + (2 if fmt == 'tsv' else 1)}"


def csv_line(path: Path, index: int) -> int:
    """The line on which data row `index` of a CSV file ends (a quoted field may span lines): for error messages."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        for row_number, _ in enumerate(reader):
            if row_number == index + 1:
                return reader.line_num
    return index + 2


def read_source(source: DataSource, cache_dir=None) -> dict[str, RawSplit]:
    """The source's splits by role: "train"; "validation" (files or dataset), "dev" (data folder), "test"."""
    if source.data_dir:
        return read_folder(Path(source.data_dir), source, cache_dir)
    if source.train_file:
        return {role: read_file(Path(getattr(source, flag)), f"--{flag}", source, cache_dir, role)
                for role, flag in FILE_FLAGS.items() if getattr(source, flag)}  # fmt: skip
    return read_dataset(source, cache_dir)


def read_folder(data_dir: Path, source: DataSource, cache_dir) -> dict[str, RawSplit]:
    check_data_dir(data_dir)
    return {role: read_file(data_dir / name, "--data_dir", source, cache_dir, role)
            for role, name in SPLIT_FILES.items() if (data_dir / name).exists()}  # fmt: skip


def read_file(path: Path, flag: str, source: DataSource, cache_dir, role: str) -> RawSplit:
    """One file of any format, its text and label columns as `review` and `label`."""
    if not path.exists():
        raise SSTDataError(f"{flag} {path}: file not found; pass an existing {', '.join(FORMATS)} file")
    if path.is_dir():
        raise SSTDataError(f"{path}: is a folder, not a file; remove or rename it, or pass another {flag}")
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "tsv":
        return read_tsv(path, source, cache_dir, role)
    try:
        # A CSV's `nan`, `null` or `NA` stays text, as in a TSV: pandas would read them as missing.
        options = {"keep_default_na": False} if fmt == "csv" else {}
        data = datasets.load_dataset(fmt, data_files={"data": str(path)}, split="data", cache_dir=cache_dir, **options)
    except datasets.exceptions.DatasetGenerationError as err:
        cause = " ".join(str(err.__cause__ or err).split())[:300]
        raise SSTDataError(f"{path}: cannot be read as {fmt.upper()} ({cause}); fix the file") from None
    return columns_of(data, str(path.resolve()), source, role, path)


def read_tsv(path: Path, source: DataSource, cache_dir, role: str) -> RawSplit:
    if role == "test" and not has_column(path, source.label_column):  # GLUE's test.tsv: index<TAB>sentence, predicted
        rows = list(read_rows(path, source.text_column, source.label_column, label_optional=True, index_column=GLUE_INDEX))
        indices = [index if index is not None else str(i) for i, (_, _, index) in enumerate(rows)]
        data = datasets.Dataset.from_dict({"review": [review for review, _, _ in rows], "index": indices})
        return RawSplit(data, str(path.resolve()), path, labelled=False)
    builder = TsvFile(path=str(path.resolve()), text_column=source.text_column, label_column=source.label_column,
                      cache_dir=cache_dir, hash=tsv_cache_fingerprint(path, source.text_column, source.label_column))  # fmt: skip
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as err:
        if isinstance(err.__cause__, SSTDataError):  # datasets wraps errors raised while generating; ours say it all
            raise err.__cause__ from None
        raise
    return RawSplit(builder.as_dataset("data"), str(path.resolve()), path)


def read_dataset(source: DataSource, cache_dir) -> dict[str, RawSplit]:
    name = source.dataset_name
    where = f"--dataset_name {name}" + (f" ({source.dataset_config_name})" if source.dataset_config_name else "")
    folder = Path(name)
    try:
        if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
            loaded = datasets.load_from_disk(str(folder))
        else:
            loaded = datasets.load_dataset(name, source.dataset_config_name, cache_dir=cache_dir)
    except (FileNotFoundError, ConnectionError, OSError, ValueError) as err:
        reason = " ".join(str(err).split())[:200]
        raise SSTDataError(f"{where}: neither in the local cache nor reachable ({reason}); connect once to cache it, or "
                           "pass a local dataset folder or --train_file") from None  # fmt: skip
    if isinstance(loaded, datasets.Dataset):  # a save_to_disk of one Dataset: its only split trains
        loaded = datasets.DatasetDict({source.train_split_name: loaded})
    wanted = {"train": source.train_split_name, "validation": source.validation_split_name,
              "test": source.test_split_name}  # fmt: skip
    splits = {}
    for role, split in wanted.items():
        if split is None and role in loaded:  # the dataset's own "validation" / "test", when it has them
            split = role
        if split is None:
            continue
        if split not in loaded:
            raise SSTDataError(f"{where}: no split '{split}' (--{role}_split_name); its splits are "
                               f"{', '.join(loaded)}")  # fmt: skip
        splits[role] = columns_of(loaded[split], f"{name} [{split}]", source, role)
    return splits


def columns_of(data: datasets.Dataset, where: str, source: DataSource, role: str, path: Path | None = None) -> RawSplit:
    """The text and label columns as `review` and `label`; a missing column refused naming those there are. A test
    split without labels (no label column, or every label missing: -1 or null) becomes a split to predict."""
    for column, flag in ((source.text_column, "--text_column"), (source.label_column, "--label_column")):
        if column not in data.column_names and not (role == "test" and flag == "--label_column"):
            raise SSTDataError(f"{where}: no column '{column}'; its columns are {', '.join(data.column_names)}; name "
                               f"the right one with {flag}")  # fmt: skip
    labelled = source.label_column in data.column_names and not (role == "test" and all_missing(data, source.label_column))
    if not labelled:
        index = data[GLUE_INDEX] if GLUE_INDEX in data.column_names else list(range(len(data)))
        text = data.select_columns([source.text_column]).rename_column(source.text_column, "review")
        return RawSplit(text.add_column("index", [str(i) for i in index]), where, path, labelled=False)
    data = data.select_columns([source.text_column, source.label_column])
    data = data.rename_columns({source.text_column: "__text", source.label_column: "__label"})  # also when swapped
    data = data.rename_columns({"__text": "review", "__label": "label"})
    return RawSplit(data, where, path)


def all_missing(data: datasets.Dataset, column: str) -> bool:
    labels = data.data.column(column)
    if isinstance(data.features[column], datasets.ClassLabel):
        return pc.all(pc.equal(labels, -1)).as_py() is not False
    return labels.null_count == len(data)


def source_fingerprint(source: DataSource) -> str:
    """sha256 of what the source's data is, wherever it lives: a folder's split files (names and bytes), the files'
    roles and bytes, or a dataset's splits and their `datasets` fingerprints."""
    if source.data_dir:
        return folder_fingerprint(source.data_dir)
    digest = hashlib.sha256()
    if source.train_file:
        for role, flag in FILE_FLAGS.items():
            if getattr(source, flag):
                path = Path(getattr(source, flag))
                if not path.is_file():
                    raise SSTDataError(f"--{flag} {path}: file not found; pass an existing {', '.join(FORMATS)} file")
                digest.update(role.encode())
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
        return digest.hexdigest()
    for role, split in read_dataset(source, None).items():
        digest.update(f"{role}\t{split.where}\t{split.data._fingerprint}".encode())
    return digest.hexdigest()


def describe(source: DataSource) -> dict:
    """What the reports and the model card say of the data: its kind, whether it trains on the reference notebook's
    own train.tsv (`notebook`), what a training row is (sentences, phrases, or None when nothing says), the Hub dataset
    the Hub's model-index files results under (None: a user's own data), and the files (name, sha256) or the dataset
    (id, configuration, splits) it came from."""
    record = {"kind": source.kind, "notebook": False, "rows": None, "hub_dataset": None, "files": {}, "dataset": None}
    if source.dataset_name:
        local = Path(source.dataset_name).exists()
        splits = {"train": source.train_split_name, "validation": source.validation_split_name,
                  "test": source.test_split_name}  # fmt: skip
        return record | {"hub_dataset": None if local else source.dataset_name,
                         "dataset": {"id": Path(source.dataset_name).name if local else source.dataset_name,
                                     "config": source.dataset_config_name, "splits": splits,
                                     "revision": None if local else cached_revision(source.dataset_name)}}  # fmt: skip
    if source.data_dir:
        files = {role: Path(source.data_dir) / name for role, name in SPLIT_FILES.items()}
    else:
        files = {role: Path(getattr(source, flag)) for role, flag in FILE_FLAGS.items() if getattr(source, flag)}
    files = {role: path for role, path in files.items() if path.is_file()}
    record["files"] = {role: {"name": path.name, "sha256": file_sha256(path)} for role, path in files.items()}
    record["notebook"] = record["files"]["train"]["sha256"] == NOTEBOOK_TRAIN_SHA256
    record["rows"] = train_rows(files["train"])
    labels = conversion_record(source.data_dir).get("labels") if source.data_dir else None
    if record["notebook"] or source.data_dir and conversion_record(source.data_dir):
        record["hub_dataset"] = "SetFit/sst5" if labels and len(labels) == 5 else "stanfordnlp/sst2"
    return record


def cached_revision(repo_id: str) -> str | None:
    """The commit of a Hub dataset that the local Hugging Face cache holds as `main` (what load_dataset read), or None."""
    ref = Path(HF_HUB_CACHE) / f"datasets--{repo_id.replace('/', '--')}" / "refs" / "main"
    return ref.read_text().strip() if ref.is_file() else None


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
