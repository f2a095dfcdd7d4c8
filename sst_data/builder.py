"""A `datasets` builder for SST-2 TSV files (`review<TAB>label`), validating every row.

datasets >= 4 no longer runs loading scripts, so the builder is a plain class that
`load_sst2` instantiates directly; its Arrow cache lives under `cache_dir`.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.builder import Key

LABEL_NAMES = ["negative", "positive"]
HEADER = ("review", "label")
# dev.tsv and test.tsv are optional; train.tsv is required.
SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}


class SSTDataError(ValueError):
    """A data file the loader cannot use; the message is one line naming file, line and fix."""


@dataclass
class SST2Config(datasets.BuilderConfig):
    """`data_dir` is the folder holding `train.tsv` (and optionally `dev.tsv`, `test.tsv`)."""


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
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"path": data_dir / name})
            for split, name in SPLIT_FILES.items()
            if split == "train" or (data_dir / name).exists()
        ]

    def _generate_examples(self, path):
        for line_number, (review, label) in enumerate(read_rows(path), start=2):
            yield Key(0, line_number), {"review": review, "label": label}


def read_rows(path: Path):
    """Yield (review, label) for every data row of `path`, or raise `SSTDataError` at the first bad one.

    Reads bytes and splits on LF itself (not `csv`/pandas) so that reviews such as `null`,
    `nan` or ones holding quote characters stay text, and so that each error names its line.
    """
    where = f"{path}"
    if not path.is_file():
        raise SSTDataError(f"{where}: file not found; pass a data folder holding train.tsv (review<TAB>label)")
    data = path.read_bytes()
    if not data.strip():
        raise SSTDataError(f"{where}: file is empty; expected a header line 'review<TAB>label' and one row per review")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last row
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
        if index == 0:
            if tuple(fields) != HEADER:
                raise SSTDataError(
                    f"{where}:1: header is {text!r}, expected 'review<TAB>label'; add or fix the header line"
                )
            continue
        if len(fields) != 2:
            raise SSTDataError(
                f"{where}:{line_number}: {len(fields)} tab-separated fields, expected 2 (review<TAB>label); "
                "a review must not contain a tab"
            )
        review, label = fields
        if not review.strip():
            raise SSTDataError(f"{where}:{line_number}: review is empty; remove the row or fill in its text")
        if label not in LABEL_NAMES:
            raise SSTDataError(
                f"{where}:{line_number}: label {label!r} is not one of {', '.join(LABEL_NAMES)}; fix the label"
            )
        yield review, label
    if len(lines) == 1:
        raise SSTDataError(f"{where}: has a header but no rows; add one 'review<TAB>label' row per review")


def fingerprint(data_dir: Path) -> str:
    """Hash of the split files' bytes, so that editing a TSV gives a new Arrow cache, never a stale one."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in SPLIT_FILES.values():
        path = data_dir / name
        if path.is_file():
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]
