"""The official SST release → the notebook's TSVs: byte for byte on the real trees; bad trees fail in one line.
With --phrases, train.tsv holds every labelled phrase, each text once."""

import re
import shutil
import subprocess
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sst_data import SSTDataError
from sst_data.builder import read_rows
from sst_data.trees import Subtree, convert_release, convert_trees, parse_tree

from .conftest import ROOT, SST_TREES_DIR, sha256, sst_data_cli

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
    assert len(notebook) == len(utf8) and len(changed) == 6  # docs/data.md: 6 dev rows carry mojibake
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


# Phrase level (--phrases): every labelled subtree of the training trees, each text once.
PHRASE_TREES = (
    b"(3 (2 A) (4 (4 fine) (2 film)))\n"  # a fine film +, fine film +, fine +; a, film: neutral
    b"(1 (2 A) (0 (1 bad) (2 film)))\n"  # a bad film -, bad film -, bad -
    b"(2 (3 FINE) (2 film))\n"  # fine film: neutral here, positive above; fine: a duplicate (3 and 4 agree)
    b"(4 (2 a) (3 (0 bad) (2 film)))\n"  # a bad film +, bad film +: conflict with line 2; bad: a duplicate (0, 1)
)


def test_phrases_are_every_labelled_subtree_once_without_conflicts_or_neutral():
    conversion = convert_trees(PHRASE_TREES, "train.txt", phrases=True)
    assert conversion.rows == [
        ("a fine film", "positive"),
        ("fine film", "positive"),
        ("fine", "positive"),
        ("bad", "negative"),
    ]
    assert conversion.phrases
    assert (conversion.duplicates, conversion.conflicts, conversion.conflicting, conversion.neutral) == (2, 2, 4, 8)
    assert 4 + 2 + 4 + 8 == PHRASE_TREES.count(b"(")  # each subtree: a row, a duplicate, conflicting or neutral

    sentences = convert_trees(PHRASE_TREES, "train.txt")  # the same trees at sentence level: roots only, as before
    assert sentences.rows == [("a fine film", "positive"), ("a bad film", "negative"), ("a bad film", "positive")]
    assert sentences.neutral == 1 and not sentences.phrases


def test_phrase_order_is_tree_file_order_then_pre_order_root_first():
    assert parse_tree("(3 (2 It) (4 (2 's) (4 fine)))") == (
        ["It", "'s", "fine"],
        [Subtree(3, 0, 3), Subtree(2, 0, 1), Subtree(4, 1, 3), Subtree(2, 1, 2), Subtree(4, 2, 3)],
    )
    trees = b"(4 (3 (3 Very) (4 good)) (3 film))\n(3 (3 film) (4 (3 so) (4 good)))\n"
    conversion = convert_trees(trees, "train.txt", phrases=True)
    first_tree = ["very good film", "very good", "very", "good", "film"]  # each node before its children, left to right
    second_tree = ["film so good", "so good", "so"]  # then the next tree's new texts ('film', 'good' are duplicates)
    assert [text for text, _ in conversion.rows] == first_tree + second_tree
    assert conversion.duplicates == 2


def test_phrases_from_the_real_training_trees(tmp_path, sst2_dir):
    outputs = []
    for hash_seed in ("1", "2"):  # two runs, each with its own string hashing: no set order leaks into the file
        output = tmp_path / f"run{hash_seed}"
        result = sst_data_cli(
            "--source", str(SST_TREES_DIR), "--output_dir", str(output), "--phrases", env={"PYTHONHASHSEED": hash_seed}
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            (
                f"{output}/train.tsv: 77189 phrases (42404 positive, 34785 negative; 21588 duplicates merged, "
                "6 conflicting phrases dropped (17 occurrences), 219788 neutral phrases dropped)"
            ),
            f"{output}/dev.tsv: 872 reviews (444 positive, 428 negative; 229 neutral trees dropped)",
        ]
        outputs.append(output)
    first, second = outputs
    assert (first / "train.tsv").read_bytes() == (second / "train.tsv").read_bytes()
    assert sha256(first / "train.tsv") == "59c7571af20370480e439ec7e205b83eba2aee11145c73d41030d7638d7f445d"
    assert (first / "dev.tsv").read_bytes() == (sst2_dir / "dev.tsv").read_bytes()  # dev stays sentence-level

    phrases = list(read_rows(first / "train.tsv"))  # a valid train.tsv for the loader
    assert len({text for text, _ in phrases}) == len(phrases) == 77189
    sentences = list(read_rows(sst2_dir / "train.tsv"))
    assert phrases[0] == sentences[0] and set(sentences) <= set(phrases)  # every sentence is among its phrases
    assert 77189 + 21588 + 17 + 219788 == (SST_TREES_DIR / "train.txt").read_bytes().count(b"(")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_data_phrases_passes_the_flag_into_a_folder_of_its_own():
    def dry_run(*overrides: str) -> list[str]:
        command = ["make", "-n", "data", *overrides]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
        return [line for line in result.stdout.splitlines() if "-m sst_data" in line]

    assert dry_run("PHRASES=1", "SST_SOURCE=trees") == [
        '.venv/bin/python -m sst_data --source "trees" --output_dir data/sst2-phrases --phrases'
    ]
    assert dry_run("SST_SOURCE=trees") == ['.venv/bin/python -m sst_data --source "trees" --output_dir data/sst2']


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_tree_files(), encoding=st.sampled_from(["cp1252", "utf-8"]))
def test_phrases_fail_like_sentences_or_account_for_every_subtree(data, encoding):
    try:
        sentences = convert_trees(data, "trees/train.txt", encoding)
    except SSTDataError as err:
        with pytest.raises(SSTDataError) as phrase_err:
            convert_trees(data, "trees/train.txt", encoding, phrases=True)
        assert str(phrase_err.value) == str(err)
        return
    phrases = convert_trees(data, "trees/train.txt", encoding, phrases=True)
    texts = [text for text, _ in phrases.rows]
    assert len(set(texts)) == len(texts)
    assert len(texts) + phrases.duplicates + phrases.conflicting + phrases.neutral == data.decode(encoding).count("(")
    for review, label in sentences.rows:  # every sentence is a phrase, unless its text has both polarities
        assert (review, label) in phrases.rows or (phrases.conflicts and review not in texts)
