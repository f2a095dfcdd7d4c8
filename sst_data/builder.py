"""A `datasets` builder for TSV files with a header line (the notebook's `review<TAB>label`, GLUE's
`sentence<TAB>label`, or any other), validating every row.

datasets >= 4 no longer runs loading scripts, so the builder is a plain class that `sst_data.sources`
instantiates directly, one per file; its Arrow cache lives under `cache_dir`. Labels are read as the text they
are: which labels a run has, and their ids, is `sst_data.labels`' job, for every format alike.
"""

import codecs
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.builder import Key

from .schema import CONVERSION_FILE, HEADER, NOTEBOOK_TRAIN_SHA256, SPLIT_FILES, SSTDataError


@dataclass
class TsvConfig(datasets.BuilderConfig):
    """`path` is the file; `text_column` and `label_column` name the columns read (the header names them all); with
    `label_optional`, a file without `label_column` (GLUE's unlabelled test.tsv) gives labels None."""

    path: str = ""
    text_column: str = HEADER[0]
    label_column: str = HEADER[1]
    label_optional: bool = False


class TsvFile(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = TsvConfig

    def _info(self):
        return datasets.DatasetInfo(
            description="A TSV file with a header line, every row checked.",
            features=datasets.Features({"review": datasets.Value("string"), "label": datasets.Value("string")}),
        )

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name="data", gen_kwargs={"path": Path(self.config.path)})]

    def _generate_examples(self, path):
        rows = read_rows(path, self.config.text_column, self.config.label_column,
                         label_optional=self.config.label_optional)  # fmt: skip
        for line_number, (review, label) in enumerate(rows, start=2):
            yield Key(0, line_number), {"review": review, "label": label}


def read_rows(
    path: Path,
    text_column: str = HEADER[0],
    label_column: str = HEADER[1],
    *,
    label_names: list[str] | None = None,
    label_optional: bool = False,
    index_column: str | None = None,
    columns: tuple[str, ...] | None = None,
    data: bytes | None = None,
):
    """Yield (review, label) for every data row of `path`, or raise `SSTDataError` at the first bad one.

    Reads bytes and splits on LF itself (not `csv`/pandas) so that reviews such as `null`,
    `nan` or ones holding quote characters stay text, and so that each error names its line.
    Labels are the file's text, unless `label_names` is given (prediction with a run): then each label is one of
    those names or its id (0, 1, ...), one style per file, and comes out as the name. Text is kept as is.

    For prediction: with `label_optional`, a header without `label_column` gives the label None; with
    `index_column`, rows are (review, label, index), the index None where the header lacks that column;
    `columns` names the columns of a file without a header line (plain text, one review per line: `(text_column,)`);
    `data` is read instead of the file (standard input), `path` then only names it in messages.
    """
    where = f"{path}"
    expected_header = f"'{text_column}<TAB>{label_column}'"
    if label_optional:
        expected_header = f"'{text_column}' (and optionally '{label_column}')"
    layout = "one review per line" if columns else f"a header line {expected_header} and one row per review"
    data = read_split_file(path) if data is None else data
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        raise SSTDataError(f"{where}: file is empty; expected {layout}")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last row
    header, first_row = columns, 0 if columns else 1  # without `columns`, line 1 names them
    ids = [str(i) for i in range(len(label_names or ()))]
    label_style = None  # the labels the first row used: label_names or their ids
    for index, raw in enumerate(lines):
        line_number = index + 1
        raw = raw.removesuffix(b"\r")
        try:
            text = raw.decode("utf-8-sig" if index == 0 else "utf-8")
        except UnicodeDecodeError as err:
            raise SSTDataError(
                f"{where}:{line_number}: byte {raw[err.start]:#04x} at column {err.start + 1} is not UTF-8; "
                "re-save the file as UTF-8"
            ) from None
        fields = text.split("\t")
        if index < first_row:
            if text_column not in fields or (label_column not in fields and not label_optional):
                raise SSTDataError(
                    f"{where}:1: header is {text!r}, expected {expected_header}; add or fix the header line, "
                    "or name the columns with --text_column and --label_column"
                )
            header = fields
            continue
        if not text.strip():
            raise SSTDataError(f"{where}:{line_number}: line is blank; remove it")
        if len(fields) != len(header):
            raise SSTDataError(
                f"{where}:{line_number}: {len(fields)} tab-separated fields, expected {len(header)} "
                f"({'<TAB>'.join(header)!r}); a review must not contain a tab"
            )
        review = fields[header.index(text_column)]
        if not review.strip():
            raise SSTDataError(f"{where}:{line_number}: review is empty; remove the row or fill in its text")
        index_field = () if index_column is None else (
            fields[header.index(index_column)] if index_column in header else None,
        )
        if label_column not in header:  # unlabelled (label_optional)
            yield review, None, *index_field
            continue
        label_index = header.index(label_column)
        label = fields[label_index]
        if label_names is None:
            if not label.strip():
                raise SSTDataError(f"{where}:{line_number}: label is empty; fill it in or remove the row")
            yield review, label, *index_field
            continue
        if label_style is None and label in label_names + ids:
            label_style = label_names if label in label_names else ids
        if label not in (label_style or label_names):
            raise SSTDataError(
                f"{where}:{line_number}: label {label!r} is not one of {', '.join(label_style or label_names)}"
                f"{'' if label_style else ' (or ' + ', '.join(ids) + ')'}; "
                f"the file's labels are {labels_found(lines[first_row:], label_index)}; fix the label"
            )
        yield review, label_names[label_style.index(label)], *index_field
    if len(lines) == first_row:
        raise SSTDataError(f"{where}: has a header but no rows; add one {expected_header} row per review")


def labels_found(lines: list[bytes], label_index: int, shown: int = 8) -> str:
    """The distinct values of a label column, for an error message: `'0', '1', '2', '3', '4'`."""
    values = set()
    for raw in lines:
        fields = raw.removesuffix(b"\r").decode("utf-8", "replace").split("\t")
        if len(fields) > label_index:
            values.add(fields[label_index])
    return shown_values(values, shown)


def shown_values(values, shown: int = 8) -> str:
    found = sorted(values, key=str)
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return ", ".join(map(repr, found[:shown])) + more


def has_column(path: Path, column: str) -> bool:
    """Whether the header line of the TSV file `path` names `column`."""
    header = read_split_file(path).split(b"\n", 1)[0].removeprefix(codecs.BOM_UTF8).removesuffix(b"\r")
    return column.encode() in header.split(b"\t")


def unlabelled_test(data_dir: Path, label_column: str = HEADER[1]) -> Path | None:
    """GLUE's test.tsv (`index<TAB>sentence`, no labels) in `data_dir`: not a split to score, but one to predict."""
    path = Path(data_dir) / SPLIT_FILES["test"]
    return path if path.is_file() and not has_column(path, label_column) else None


def read_split_file(path: Path) -> bytes:
    """A split file's bytes, or `SSTDataError` saying why they cannot be had."""
    if not path.exists():
        raise SSTDataError(f"{path}: file not found; pass a data folder holding train.tsv (review<TAB>label)")
    if path.is_dir():
        raise SSTDataError(f"{path}: is a folder, not a file; remove or rename it, or pass another --data_dir")
    try:
        return path.read_bytes()
    except OSError as err:
        raise SSTDataError(f"{path}: cannot be read ({err.strerror}); make it readable, or pass another --data_dir") from None


def check_data_dir(data_dir: Path) -> None:
    if not data_dir.is_dir():
        raise SSTDataError(f"{data_dir}: data folder not found; pass --data_dir with a folder holding train.tsv")
    if not (data_dir / SPLIT_FILES["train"]).exists():
        raise SSTDataError(f"{data_dir}: holds no train.tsv; pass --data_dir with a folder holding train.tsv")


def folder_fingerprint(data_dir: str | Path) -> str:
    """sha256 of the split files' names and bytes: what the data is, wherever its folder lives."""
    data_dir = Path(data_dir)
    check_data_dir(data_dir)
    digest = hashlib.sha256()
    for name in SPLIT_FILES.values():
        if (data_dir / name).exists():
            digest.update(name.encode() + read_split_file(data_dir / name))
    return digest.hexdigest()


def conversion_record(data_dir: str | Path) -> dict:
    """What `python -m sst_data` wrote of a folder it made (conversion.json), or {}."""
    path = Path(data_dir) / CONVERSION_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def train_rows(train_file: str | Path) -> str | None:
    """What a row of a train.tsv is: "sentences" (the notebook's own file, or a conversion of the trees), "phrases"
    (`python -m sst_data --phrases`), or None when nothing says."""
    train_file = Path(train_file)
    if train_file.name == SPLIT_FILES["train"] and (rows := conversion_record(train_file.parent).get("train")):
        return rows
    return "sentences" if is_notebook_train(train_file) else None


def is_notebook_train(train_file: str | Path) -> bool:
    """Whether `train_file` is the reference notebook's own train.tsv, byte for byte."""
    path = Path(train_file)
    return path.is_file() and path.stat().st_size < 2**24 and hashlib.sha256(path.read_bytes()).hexdigest() == NOTEBOOK_TRAIN_SHA256


def tsv_cache_fingerprint(path: Path, *columns) -> str:
    """The file's bytes, the columns read and this reader's code: editing any of them gives a new Arrow cache, never a
    stale one."""
    key = hashlib.sha256(read_split_file(path)).hexdigest() + "\t".join(map(str, columns))
    return hashlib.sha256((key + Path(__file__).read_text(encoding="utf-8")).encode()).hexdigest()[:16]
