"""Property-based: whatever bytes train.tsv holds, the loader keeps every row exactly or stops with one line.

Inputs are arbitrary bytes and random mutations (inserted, deleted, replaced bytes: tabs, CR/LF, BOMs,
invalid UTF-8, labels) of real rows from train.tsv. On success, the rows must rebuild the file: none dropped,
none altered. On failure, the error must be the project's `SSTDataError`, one line, naming the file.
"""

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sst_data import LABEL_NAMES, SSTDataError
from sst_data.builder import read_rows

from .conftest import SST2_DIR, load_folder

BOM = b"\xef\xbb\xbf"
HEADER = b"review\tlabel"
REAL_ROWS = (SST2_DIR / "train.tsv").read_bytes().split(b"\n")[1:41]
TRICKY = [b"\t", b"\n", b"\r", b"\r\n", BOM, b"\xff", b"\xc3", b"\xe2\x80\xa8", b" ", b"\x00", b'"', b"positive",
          b"negative", b"neutral", b"null", "é".encode()]  # fmt: skip


@st.composite
def mutated_real_files(draw) -> bytes:
    """A header (sometimes with BOM / CRLF) and real rows, then a few random byte edits anywhere."""
    rows = draw(st.lists(st.sampled_from(REAL_ROWS), max_size=6))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = bytearray(draw(st.sampled_from([b"", BOM])) + newline.join([HEADER, *rows]))
    data += draw(st.sampled_from([b"", newline]))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(data)))
        chunk = draw(st.sampled_from(TRICKY) | st.binary(min_size=1, max_size=3))
        match draw(st.sampled_from(["insert", "replace", "delete"])):
            case "insert":
                data[position:position] = chunk
            case "replace":
                data[position : position + len(chunk)] = chunk
            case "delete":
                del data[position : position + draw(st.integers(1, 8))]
    return bytes(data)


any_file = st.binary(max_size=300) | st.binary(max_size=300).map(lambda body: HEADER + b"\n" + body)


def data_lines(data: bytes) -> list[bytes]:
    """What a correct reader must keep of the file: every line, less the framing (BOM, CR of a CRLF, final LF)."""
    lines = data.removeprefix(BOM).split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def check(path: Path, data: bytes, load, named: bool = True) -> None:
    """`load(path)` either returns every row exactly as written, or raises a one-line SSTDataError; `named`: labels come
    out as the loader names them (a folder's 0/1 as negative / positive), else as written."""
    try:
        rows = load(path)
    except SSTDataError as err:
        message = str(err)
        assert len(message.splitlines()) == 1 and message.startswith(str(path)), message
        line = re.match(rf"{re.escape(str(path))}:(\d+): ", message)
        assert line is None or 1 <= int(line[1]) <= len(data_lines(data)), message
        event("refused with SSTDataError")
        return
    header, *body = data_lines(data)
    columns = header.split(b"\t")  # other columns than review and label are allowed, and ignored
    review_at, label_at = columns.index(b"review"), columns.index(b"label")
    labels = [fields[label_at] for fields in (line.split(b"\t") for line in body)]
    glue = named and set(labels) <= {b"0", b"1"}  # a folder of GLUE's 0/1 is named negative / positive
    ids = {b"0": b"negative", b"1": b"positive"} if glue else {}
    expected = [(fields[review_at], ids.get(fields[label_at], fields[label_at])) for fields in (line.split(b"\t") for line in body)]
    assert [(review.encode(), label.encode()) for review, label in rows] == expected  # all rows, unaltered
    assert all(review.strip() for review, _ in rows) and (not glue or {label for _, label in rows} <= set(LABEL_NAMES))
    event("loaded, every row kept")


@settings(max_examples=300, deadline=None)
@given(data=any_file | mutated_real_files())
def test_read_rows_keeps_every_row_or_fails_in_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.tsv"
        path.write_bytes(data)
        check(path, data, lambda p: list(read_rows(p)), named=False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_real_files())
def test_load_sst2_keeps_every_row_in_arrow_or_fails_in_one_line(data):
    """The same through the whole builder, datasets and its Arrow cache included."""

    def load(path: Path):
        train = load_folder(path.parent, cache_dir=path.parent / "cache")["train"]
        names = train.features["label"].int2str
        return [(row["review"], names(row["label"])) for row in train]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.tsv"
        path.write_bytes(data)
        check(path, data, load)
