"""What prediction reads: a TSV in any layout training accepts (the label column optional), a plain text file with
one review per line, or either on standard input. Every line is checked by the project's TSV reader."""

import codecs
import sys
from pathlib import Path

from sst_data import Reviews, SSTDataError
from sst_data.builder import HEADER, read_rows

GLUE_INDEX = "index"  # the first column of GLUE's unlabelled test.tsv (index<TAB>sentence)


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
