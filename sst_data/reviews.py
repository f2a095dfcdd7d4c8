"""Reviews to predict, in order, as read from a file or standard input (`read_input`: a TSV in any layout training
accepts, the label column optional, or a plain text file with one review per line; every line checked by the
project's TSV reader), or a data source's unlabelled test split: what a predictions file is written from
(`training_report.predictions_tsv`)."""

import codecs
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .builder import HEADER, read_rows
from .schema import SSTDataError

GLUE_INDEX = "index"  # the first column of GLUE's unlabelled test.tsv (index<TAB>sentence)


@dataclass
class Reviews:
    where: str  # the file, or <stdin>
    texts: list[str]
    labels: list[str] | None  # gold label names, when the input has a label column
    indices: list[str] | None  # GLUE's index column, when the input has one
    data: bytes = field(default=b"", repr=False)  # the input as read

    @property
    def glue_test(self) -> bool:
        """GLUE's unlabelled test layout, whose predictions go out as GLUE's submission file (index<TAB>prediction)."""
        return self.indices is not None and self.labels is None


def read_input(source: str, text_column: str = HEADER[0], label_column: str = HEADER[1],
               label_names: list[str] | None = None, data: bytes | None = None) -> Reviews:  # fmt: skip
    """The reviews of `source` (a path, or "-" for standard input), in order; `SSTDataError` naming the line at
    the first bad one. A first line holding a tab or just `text_column` is a TSV header; otherwise every line is a
    review. With `label_names` (the run's), a label column's labels must be those names or their ids, and come out as
    the names; `data`: the input's bytes, read already (`Reviews.data`: checked again once the run's labels are known)."""
    if data is not None:
        where = "<stdin>" if source == "-" else source
    elif source == "-":
        where, data = "<stdin>", sys.stdin.buffer.read()
    elif Path(source).is_file():
        where, data = source, Path(source).read_bytes()
    else:
        raise SSTDataError(
            f"{source}: file not found; pass a TSV with a header, a text file with one review per line, "
            "or - for standard input"
        )
    first_line = data.split(b"\n", 1)[0].removesuffix(b"\r").removeprefix(codecs.BOM_UTF8)
    is_tsv = b"\t" in first_line or first_line == text_column.encode()
    rows = list(
        read_rows(Path(where), text_column, label_column, label_names=label_names, label_optional=True,
                  index_column=GLUE_INDEX, columns=None if is_tsv else (text_column,), data=data)
    )  # fmt: skip
    texts, labels, indices = (list(column) for column in zip(*rows))
    return Reviews(
        where, texts, labels if labels[0] is not None else None, indices if indices[0] is not None else None, data
    )
