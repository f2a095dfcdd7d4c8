"""A `datasets` builder for SST-2 TSV files (`review<TAB>label`), validating every row.

datasets >= 4 no longer runs loading scripts, so the builder is a plain class that
`load_sst2` instantiates directly; its Arrow cache lives under `cache_dir`.
"""

import codecs
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.builder import Key

from .schema import CONVERSION_FILE, HEADER, LABEL_IDS, LABEL_NAMES, NOTEBOOK_TRAIN_SHA256, SPLIT_FILES, SSTDataError


@dataclass
class SST2Config(datasets.BuilderConfig):
    """`data_dir` is the folder holding `train.tsv` (and optionally `dev.tsv`, `test.tsv`); the header names
    the columns, `text_column` and `label_column` say which of them hold the review and its label."""

    text_column: str = HEADER[0]
    label_column: str = HEADER[1]


class SST2(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = SST2Config

    def _info(self):
        return datasets.DatasetInfo(
            description="Sentence-level SST-2 in the reference notebook's TSV layout.",
            features=datasets.Features(
                {"review": datasets.Value("string"), "label": datasets.ClassLabel(names=LABEL_NAMES)}
            ),
        )

    def _split_generators(self, dl_manager):
        data_dir = Path(self.config.data_dir)
        unlabelled = unlabelled_test(data_dir, self.config.label_column)  # predicted after training, not scored
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"path": data_dir / name})
            for split, name in SPLIT_FILES.items()
            if (data_dir / name).exists() and (data_dir / name) != unlabelled
        ]

    def _generate_examples(self, path):
        rows = read_rows(path, self.config.text_column, self.config.label_column)
        for line_number, (review, label) in enumerate(rows, start=2):
            yield Key(0, line_number), {"review": review, "label": label}


def read_rows(
    path: Path,
    text_column: str = HEADER[0],
    label_column: str = HEADER[1],
    *,
    label_optional: bool = False,
    index_column: str | None = None,
    columns: tuple[str, ...] | None = None,
    data: bytes | None = None,
):
    """Yield (review, label name) for every data row of `path`, or raise `SSTDataError` at the first bad one.

    Reads bytes and splits on LF itself (not `csv`/pandas) so that reviews such as `null`,
    `nan` or ones holding quote characters stay text, and so that each error names its line.
    Labels are names (negative/positive) or GLUE's ids (0/1), one style per file; text is kept as is.

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
    label_style = None  # the labels the first row used: LABEL_NAMES or LABEL_IDS
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
        if label_style is None and label in LABEL_NAMES + LABEL_IDS:
            label_style = LABEL_NAMES if label in LABEL_NAMES else LABEL_IDS
        if label not in (label_style or LABEL_NAMES):
            raise SSTDataError(
                f"{where}:{line_number}: label {label!r} is not one of {', '.join(label_style or LABEL_NAMES)}"
                f"{'' if label_style else ' (or 0, 1)'}; "
                f"the file's labels are {labels_found(lines[first_row:], label_index)}; fix the label"
            )
        yield review, LABEL_NAMES[label_style.index(label)], *index_field
    if len(lines) == first_row:
        raise SSTDataError(f"{where}: has a header but no rows; add one {expected_header} row per review")


def labels_found(lines: list[bytes], label_index: int, shown: int = 8) -> str:
    """The distinct values of a label column, for an error message: `'0', '1', '2', '3', '4'`."""
    values = set()
    for raw in lines:
        fields = raw.removesuffix(b"\r").decode("utf-8", "replace").split("\t")
        if len(fields) > label_index:
            values.add(fields[label_index])
    found = sorted(values)
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return ", ".join(map(repr, found[:shown])) + more


def unlabelled_test(data_dir: Path, label_column: str = HEADER[1]) -> Path | None:
    """GLUE's test.tsv (`index<TAB>sentence`, no labels) in `data_dir`: not a split to score, but one to predict."""
    path = Path(data_dir) / SPLIT_FILES["test"]
    if not path.is_file():
        return None
    header = read_split_file(path).split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf").removesuffix(b"\r")
    return None if label_column.encode() in header.split(b"\t") else path


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


def data_fingerprint(data_dir: str | Path) -> str:
    """sha256 of the split files' names and bytes: what the data is, wherever its folder lives."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise SSTDataError(f"{data_dir}: data folder not found; pass --data_dir with a folder holding train.tsv")
    if not (data_dir / SPLIT_FILES["train"]).exists():
        raise SSTDataError(f"{data_dir}: holds no train.tsv; pass --data_dir with a folder holding train.tsv")
    digest = hashlib.sha256()
    for name in SPLIT_FILES.values():
        if (data_dir / name).exists():
            digest.update(name.encode() + read_split_file(data_dir / name))
    return digest.hexdigest()


def train_rows(data_dir: str | Path) -> str | None:
    """What a row of the folder's train.tsv is: "sentences" (the notebook's own file, or a conversion of the trees),
    "phrases" (`python -m sst_data --phrases`), or None when nothing says."""
    data_dir = Path(data_dir)
    if (data_dir / CONVERSION_FILE).is_file():
        return json.loads((data_dir / CONVERSION_FILE).read_text(encoding="utf-8")).get("train")
    train = read_split_file(data_dir / SPLIT_FILES["train"])
    return "sentences" if hashlib.sha256(train).hexdigest() == NOTEBOOK_TRAIN_SHA256 else None


def cache_fingerprint(data_dir: Path, *columns: str) -> str:
    """The data, the columns read and this reader's code: editing any of them gives a new Arrow cache, never a stale one."""
    key = data_fingerprint(data_dir) + "\t".join(columns) + Path(__file__).read_text(encoding="utf-8")
    return hashlib.sha256(key.encode()).hexdigest()[:16]
