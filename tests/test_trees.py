"""The official SST release → the notebook's TSVs: byte for byte on the real trees; bad trees fail in one line."""

import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sst_data import SSTDataError
from sst_data.builder import read_rows
from sst_data.trees import convert_release, convert_trees

from .conftest import SST_TREES_DIR, sha256, sst_data_cli

TREE = b"(3 (2 a) (3 (2 fine) (3 film)))\n"


def test_converter_reproduces_the_notebooks_files_byte_for_byte(sst2_dir, tmp_path):
    result = sst_data_cli("--source", str(SST_TREES_DIR), "--output_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sha256(tmp_path / "train.tsv") == sha256(sst2_dir / "train.tsv") == (
        "736235788bdb98f13b0d00bc0a4b224e3305d6c46832a0cb63d46725eef35d8b"
    )
    assert sha256(tmp_path / "dev.tsv") == sha256(sst2_dir / "dev.tsv") == (
        "4b65fd8855e6361034d76848038bac7fb20dd1614d0e4caba0e2d33aaa0771d8"
    )
    assert result.stdout.splitlines() == [
        f"{tmp_path}/train.tsv: 6920 reviews (3610 positive, 3310 negative; 1624 neutral trees dropped)",
        f"{tmp_path}/dev.tsv: 872 reviews (444 positive, 428 negative; 229 neutral trees dropped)",
    ]


def test_zip_release_converts_like_the_folder_and_utf8_fixes_accents(tmp_path, sst2_dir):
    release = tmp_path / "trainDevTestTrees_PTB.zip"
    with zipfile.ZipFile(release, "w") as archive:  # the official zip's layout: trees/*.txt
        for name in ("train.txt", "dev.txt"):
            archive.write(SST_TREES_DIR / name, f"trees/{name}")
    convert_release(release, tmp_path / "cp1252")
    for name in ("train.tsv", "dev.tsv"):
        assert (tmp_path / "cp1252" / name).read_bytes() == (sst2_dir / name).read_bytes()
    assert not (tmp_path / "cp1252" / "test.tsv").exists()  # only the splits present

    convert_release(release, tmp_path / "utf8", encoding="utf-8")
    notebook, utf8 = ((tmp_path / d / "dev.tsv").read_text().splitlines() for d in ("cp1252", "utf8"))
    changed = [(a, b) for a, b in zip(notebook, utf8) if a != b]
    assert len(notebook) == len(utf8) and len(changed) == 6  # README: 6 dev rows carry mojibake
    assert all("ã" in a and "ã" not in b for a, b in changed)
    assert any("é" in b for _, b in changed)


@pytest.mark.parametrize(
    "data, expected",
    [
        (TREE + b"(3 (2 a) (3 film)\n", r"train.txt:2: not a PTB tree: unbalanced brackets: 1 '\(' never closed"),
        (TREE + b"(3 (2 a)) (3 film))\n", r"train.txt:2: not a PTB tree: text after the tree ends, at column 11"),
        (b"(2 a))\n", r"train.txt:1: not a PTB tree: unbalanced brackets: '\)' at column 6 closes nothing"),
        (TREE + TREE + b"(5 (2 a) (3 film))\n", r"train.txt:3: not a PTB tree: label '5' at column 2 is not one of 0, 1"),
        (b"(3 (-1 a) (3 film))\n", r"train.txt:1: not a PTB tree: label '-1' at column 5 is not one of 0, 1, 2, 3, 4"),
        (TREE + b"\n" + TREE, r"train.txt:2: line is empty; every line must hold one tree"),
        (TREE + b"   \n", r"train.txt:2: line is empty"),
        (b"a fine film\tpositive\n", r"train.txt:1: not a PTB tree: does not start with '\('"),
        (b"(3 (2 a) film)\n", r"train.txt:1: not a PTB tree: word 'film' at column 10 follows subtrees"),
        (b"(3 ())\n", r"train.txt:1: not a PTB tree: '\(' at column 4 is not followed by a label"),
        (b"(3 (2 a) (3))\n", r"train.txt:1: not a PTB tree: empty node closed at column 12"),
        (b"", r"train.txt: file is empty; expected one PTB tree per line"),
        (TREE + b"(3 (2 caf\x81) (3 film))\n", r"train.txt:2: byte 0x81 at column 10 is not cp1252; pass --encoding"),
    ],
)
def test_malformed_tree_gives_one_line_naming_file_and_line(tmp_path, data, expected):
    (tmp_path / "trees").mkdir()
    (tmp_path / "trees" / "train.txt").write_bytes(data)
    with pytest.raises(SSTDataError) as err:
        convert_release(tmp_path, tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{tmp_path}/trees/train.txt")
    assert re.search(expected, message), message
    assert not (tmp_path / "out").exists()  # nothing written from a bad release


def test_bad_sources_on_the_command_line(tmp_path):
    no_trees = tmp_path / "other.zip"
    with zipfile.ZipFile(no_trees, "w") as archive:
        archive.writestr("train.txt", TREE)  # not under trees/
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train.txt").write_bytes(TREE + b"(3 (2 a) (9 film))\n")
    (tmp_path / "dev-only").mkdir()
    (tmp_path / "dev-only" / "dev.txt").write_bytes(TREE)
    cases = {
        no_trees: f"{no_trees}: holds no train.txt (trees/train.txt in the zip); "
        "pass Stanford's trainDevTestTrees_PTB.zip or its trees/ folder",
        tmp_path / "dev-only": f"{tmp_path}/dev-only: holds no train.txt (trees/train.txt in the zip); "
        "pass Stanford's trainDevTestTrees_PTB.zip or its trees/ folder",
        tmp_path / "missing.zip": f"{tmp_path}/missing.zip: not found; pass Stanford's trainDevTestTrees_PTB.zip "
        "or a folder of tree files",
        tmp_path / "bad": f"{tmp_path}/bad/train.txt:2: not a PTB tree: label '9' at column 11 is not one of 0, 1, 2, 3, 4; "
        "fix or remove the line",
    }
    for source, message in cases.items():
        result = sst_data_cli("--source", str(source), "--output_dir", str(tmp_path / "out"))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.splitlines() == [f"python -m sst_data: error: {message}"]
    assert not (tmp_path / "out").exists()

    (tmp_path / "a-file").write_text("not a folder")
    result = sst_data_cli("--source", str(SST_TREES_DIR), "--output_dir", str(tmp_path / "a-file"))
    assert result.returncode == 1 and result.stderr.splitlines() == [
        f"python -m sst_data: error: --output_dir {tmp_path}/a-file: is a file, not a folder; choose another --output_dir"
    ]


# Property: whatever the bytes, every tree is accounted for, or the converter's own one-line error.
REAL_LINES = (SST_TREES_DIR / "dev.txt").read_bytes().splitlines()[:300]
DAMAGE = st.sampled_from([b"(", b")", b"(5 ", b"(2 ", b" ", b"\n", b"\t", b"\r", b"\xc2\xa0", b"\xc3\xa9", b"\x81", b"\xff"])


@st.composite
def damaged_tree_files(draw) -> bytes:
    data = bytearray(b"\n".join(draw(st.lists(st.sampled_from(REAL_LINES), min_size=1, max_size=3))) + b"\n")
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(data)))
        end = start + draw(st.integers(0, 4))  # 0: insert, else replace that many bytes
        data[start:end] = draw(DAMAGE | st.binary(max_size=3))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=64) | damaged_tree_files(), encoding=st.sampled_from(["cp1252", "utf-8"]))
def test_any_bytes_convert_with_every_tree_accounted_for_or_fail_in_one_line(data, encoding):
    try:
        conversion = convert_trees(data, "trees/train.txt", encoding)
    except SSTDataError as err:
        assert re.match(r"trees/train\.txt(:\d+)?: \S", str(err)) and "\n" not in str(err), str(err)
        return
    lines = data.split(b"\n")
    lines = lines[:-1] if lines[-1] == b"" else lines
    roots = [re.match(r"\s*\(\s*([0-4])", line.decode(encoding)).group(1) for line in lines]
    assert conversion.neutral == roots.count("2")
    expected = ["negative" if root in "01" else "positive" for root in roots if root != "2"]
    assert [label for _, label in conversion.rows] == expected
    for review, _ in conversion.rows:  # each row is one clean TSV line
        assert review == " ".join(review.split()) == review.lower() and review


def test_converted_rows_read_back_through_the_tsv_loader(tmp_path):
    data = b"\n".join(REAL_LINES[:50]) + b"\n"
    conversion = convert_trees(data, "dev.txt")
    (tmp_path / "train.tsv").write_bytes(conversion.to_tsv())
    assert list(read_rows(tmp_path / "train.tsv")) == conversion.rows
    assert len(conversion.rows) + conversion.neutral == 50
