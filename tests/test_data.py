"""The TSV → Arrow builder: real files load whole; every bad file fails with one line naming file, line and fix."""

import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from datasets import ClassLabel, Value

from errors import ProjectError
from sst_data import SSTDataError, dev_split, notebook_sample, notebook_split

from .conftest import load_folder, run_finetune, write_tsv

HEADER = b"review\tlabel\n"


def load_error(tmp_path, data: bytes) -> str:
    data_dir = write_tsv(tmp_path / "data", data)
    with pytest.raises(SSTDataError) as err:
        load_folder(data_dir, cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(data_dir / "train.tsv"))
    return message


def test_real_files_load_into_arrow_with_typed_features(sst2_dir, tmp_path):
    data = load_folder(sst2_dir, cache_dir=tmp_path)
    assert sorted(data) == ["dev", "train"]  # no test.tsv in the shared folder
    assert data["train"].features["review"] == Value("string")
    assert data["train"].features["label"] == ClassLabel(names=["negative", "positive"])
    names = data["train"].features["label"].int2str
    assert Counter(map(names, data["train"]["label"])) == {"positive": 3610, "negative": 3310}
    assert Counter(map(names, data["dev"]["label"])) == {"positive": 444, "negative": 428}
    assert any(tmp_path.rglob("*.arrow"))  # read into the Arrow cache there


def test_notebook_sample_is_pandas_sample_rows_and_order(sst2_dir, tmp_path):
    train = load_folder(sst2_dir, cache_dir=tmp_path)["train"]
    sample = notebook_sample(train, fraction=0.5, seed=42)
    notebook = pd.read_csv(sst2_dir / "train.tsv", sep="\t").sample(frac=0.5, random_state=42)
    assert len(sample) == 3460
    assert Counter(sample["label"]) == {1: 1849, 0: 1611}
    assert sample["review"][:10] == list(notebook["review"][:10])
    assert sample["review"][0].startswith("e.t. works because its flabbergasting principals")
    assert sample["review"] == list(notebook["review"])  # the whole order, not just the head


def test_notebook_split_is_70_30_seeded_and_disjoint(sst2_dir, tmp_path):
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    first, again, other = (notebook_split(sample, 0.3, seed) for seed in (42, 42, 7))
    assert (len(first["train"]), len(first["validation"])) == (2422, 1038)
    assert first["validation"]["review"] == again["validation"]["review"]
    assert first["validation"]["review"] != other["validation"]["review"]
    assert sorted([*first["train"]["review"], *first["validation"]["review"]]) == sorted(sample["review"])  # a partition


@pytest.mark.parametrize(
    "rows, fraction, sizes",
    [(0, 0.3, "0 train / 0 validation"), (3, 0.3, "2 train / 1 validation"), (4, 0.9, "0 train / 4 validation")],
)
def test_notebook_split_too_small_to_train_or_validate_names_the_sizes(sst2_dir, tmp_path, rows, fraction, sizes):
    train = load_folder(sst2_dir, cache_dir=tmp_path)["train"]
    with pytest.raises(ProjectError) as err:
        notebook_split(train.select(range(rows)), fraction, seed=42)
    assert str(err.value) == (
        f"{rows} sampled rows split into {sizes} rows; need at least 1 to train on and 2 to validate on: "
        "raise --sample_fraction or change --validation_fraction"
    )


def test_a_one_review_dev_split_is_too_small_to_validate_on(sst2_dir, tmp_path):
    data = load_folder(sst2_dir, cache_dir=tmp_path)
    with pytest.raises(ProjectError) as err:
        dev_split(data["train"].select(range(10)), data["dev"].select(range(1)))
    assert str(err.value) == (
        "--validation_split dev: the sample and dev.tsv give 10 train / 1 validation rows; need at least 1 to train on "
        "and 2 to validate on: raise --sample_fraction, or give dev.tsv at least 2 reviews"
    )
    assert [len(part) for part in dev_split(data["train"], data["dev"]).values()] == [6920, 872]


def test_dev_and_test_files_are_optional_splits(tmp_path):
    data_dir = write_tsv(tmp_path / "data", HEADER + b"good\tpositive\nworse\tnegative\n")
    write_tsv(data_dir, HEADER + b"bad\tnegative\n", name="test.tsv")
    data = load_folder(data_dir, cache_dir=tmp_path / "cache")
    assert sorted(data) == ["test", "train"]
    assert data["test"][0] == {"review": "bad", "label": 0}


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", r"train.tsv: file is empty"),
        (b"\n\n", r"train.tsv: file is empty"),
        (HEADER, r"train.tsv: has a header but no rows"),
        (b"a fine film\tpositive\n", r"train.tsv:1: header is 'a fine film\\tpositive', expected 'review<TAB>label'"),
        (b"sentence\tlabel\nok\tpositive\n", r"train.tsv:1: header is 'sentence\\tlabel'"),
        (HEADER + b"ok\tpositive\ntoo\tmany\tpositive\n", r"train.tsv:3: 3 tab-separated fields, expected 2"),
        (HEADER + b"ok\tpositive\nno label at all\n", r"train.tsv:3: 1 tab-separated fields, expected 2"),
        (HEADER + b"ok\tpositive\n\nok\tnegative\n", r"train.tsv:3: line is blank; remove it$"),
        (HEADER + b"ok\tpositive\n \t \n", r"train.tsv:3: line is blank; remove it"),
        (HEADER + b"meh\tneutral\n", r"train.tsv: the training rows hold one label \('neutral'\); a classifier needs at least two"),
        (HEADER + b"ok\tpositive\nmeh\t\n", r"train.tsv:3: label is empty; fill it in or remove the row"),
        (HEADER + b"ok\tpositive\n \tnegative\n", r"train.tsv:3: review is empty"),
        (HEADER + b"caf\xe9 society\tpositive\n", r"train.tsv:2: byte 0xe9 at column 4 is not UTF-8; re-save"),
    ],
)
def test_bad_file_gives_one_line_naming_file_line_and_problem(tmp_path, data, expected):
    message = load_error(tmp_path, data)
    assert re.search(expected, message), message


def test_unreadable_train_tsv_and_a_dev_tsv_that_is_a_folder(tmp_path):
    data_dir = write_tsv(tmp_path / "data", HEADER + b"good\tpositive\n")
    (data_dir / "dev.tsv").mkdir()
    with pytest.raises(SSTDataError) as err:
        load_folder(data_dir, cache_dir=tmp_path / "cache")
    assert str(err.value) == f"{data_dir}/dev.tsv: is a folder, not a file; remove or rename it, or pass another --data_dir"

    # Root reads any file, so the read runs as nobody (effective uid) in a folder anyone may enter.
    data_dir = write_tsv(Path(tempfile.mkdtemp()), HEADER + b"good\tpositive\n")
    data_dir.chmod(0o755)
    (data_dir / "train.tsv").chmod(0)
    running_as_root = os.geteuid() == 0
    try:
        if running_as_root:
            os.seteuid(65534)
        with pytest.raises(SSTDataError) as err:
            load_folder(data_dir, cache_dir=data_dir / "cache")
    finally:
        if running_as_root:
            os.seteuid(0)
        shutil.rmtree(data_dir)
    assert str(err.value) == (
        f"{data_dir}/train.tsv: cannot be read (Permission denied); make it readable, or pass another --data_dir"
    )


def test_missing_file_and_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SSTDataError, match=r"empty: holds no train.tsv; pass --data_dir with a folder holding train.tsv"):
        load_folder(tmp_path / "empty", cache_dir=tmp_path / "cache")
    with pytest.raises(SSTDataError, match=r"nowhere: data folder not found; pass --data_dir"):
        load_folder(tmp_path / "nowhere", cache_dir=tmp_path / "cache")


def test_tolerated_rows_are_kept_as_text(tmp_path):
    rows = ["null", "NA", "nan", 'the "best" film', "it 's `` fine ''", "andrã© turpin"]
    body = "".join(f"{review}\tpositive\r\n" for review in rows).encode() + b"dull\tnegative\r\n"
    data_dir = write_tsv(tmp_path / "data", b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + body)
    train = load_folder(data_dir, cache_dir=tmp_path / "cache")["train"]
    assert train["review"] == [*rows, "dull"]
    assert train["label"] == [1] * len(rows) + [0]


def test_last_row_without_newline_is_kept(tmp_path):
    data_dir = write_tsv(tmp_path / "data", HEADER + b"one\tpositive\ntwo\tnegative")
    assert load_folder(data_dir, cache_dir=tmp_path / "cache")["train"]["review"] == ["one", "two"]


def test_edited_file_is_reloaded_not_served_from_a_stale_cache(tmp_path):
    data_dir = write_tsv(tmp_path / "data", HEADER + b"first\tpositive\nx\tnegative\n")
    assert load_folder(data_dir, cache_dir=tmp_path / "cache")["train"]["review"] == ["first", "x"]
    write_tsv(data_dir, HEADER + b"second\tnegative\nx\tpositive\n")
    assert load_folder(data_dir, cache_dir=tmp_path / "cache")["train"]["review"] == ["second", "x"]


def test_command_line_reports_bad_data_in_one_line_without_traceback(tmp_path, tiny_model_dir):
    data_dir = write_tsv(tmp_path / "data", HEADER + b"ok\tpositive\nbad\tnegative\n")
    write_tsv(data_dir, HEADER + b"ok\tpositive\nmeh\tneutral\n", name="dev.tsv")
    result = run_finetune("--model_name_or_path", str(tiny_model_dir), "--data_dir", str(data_dir), "--output_dir",
                          str(tmp_path / "out"))  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"run_finetune.py: error: {data_dir}/dev.tsv:3: label 'neutral' is not one of the training rows' labels "
        "('negative', 'positive'); the split's labels are 'neutral', 'positive'; fix the label, or add rows of it to "
        "the training data"
    )


def test_glue_layout_loads_unedited_with_text_and_label_columns(tmp_path):
    """GLUE's SST-2: `sentence<TAB>label`, labels 0/1, reviews ending in a space; the text is kept as it is."""
    glue = b"sentence\tlabel\nhide new secretions from the parental units \t0\nthe greatest musicians \t1\n"
    data_dir = write_tsv(tmp_path / "data", glue)
    write_tsv(data_dir, b"sentence\tlabel\nit 's a charming journey . \t1\n", name="dev.tsv")
    data = load_folder(data_dir, cache_dir=tmp_path / "cache", text_column="sentence", label_column="label")
    assert data["train"]["review"] == ["hide new secretions from the parental units ", "the greatest musicians "]
    assert data["train"]["label"] == [0, 1] and data["dev"]["label"] == [1]
    assert data["train"].features["label"].names == ["negative", "positive"]

    columns_elsewhere = b"index\tlabel\tsentence\n7\tnegative\tdull\n8\tpositive\tfun\n"
    data_dir = write_tsv(tmp_path / "other", columns_elsewhere)
    data = load_folder(data_dir, cache_dir=tmp_path / "cache", text_column="sentence")
    assert data["train"][0] == {"review": "dull", "label": 0}

    message = load_error(tmp_path, glue)  # without --text_column: the header names the way out
    assert message.endswith(
        "train.tsv:1: header is 'sentence\\tlabel', expected 'review<TAB>label'; add or fix the header line, "
        "or name the columns with --text_column and --label_column"
    )


@pytest.mark.parametrize(
    "body, dev, expected",
    [
        (b"a\t0\nb\t1\n", b"c\t3\nd\t1\n", r"dev.tsv:2: label 3 is not one of negative, positive \(or 0 to 1\); the split's labels are 1, 3"),
        (b"a\tpositive\nb\t1\n", None, r"train.tsv: labels of mixed types: numbers \('1', .*train.tsv:3\) and names \('positive'\); give one kind"),
        (b"a\tx\nb\ty\n", b"c\t0\nd\t1\n", r"dev.tsv: labels are numbers, the training rows' are names: labels of mixed types; pass --label_names"),
        (b"a\t1.0\nb\t2.5\n", None, r"train.tsv: labels are numbers with fractions \(e.g. '1.0'\): that is regression"),
    ],
)
def test_label_set_that_does_not_fit_names_the_values_found(tmp_path, body, dev, expected):
    data_dir = write_tsv(tmp_path / "data", HEADER + body)
    if dev:
        write_tsv(data_dir, HEADER + dev, name="dev.tsv")
    with pytest.raises(SSTDataError) as err:
        load_folder(data_dir, cache_dir=tmp_path / "cache")
    assert re.search(expected, str(err.value)), str(err.value)


def test_run_takes_text_and_label_columns(tmp_path, tiny_model_dir):
    data_dir = write_tsv(tmp_path / "data", b"sentence\tlabel\nfine \t1\nbad\t2\n")
    result = run_finetune("--model_name_or_path", str(tiny_model_dir), "--data_dir", str(data_dir), "--text_column",
                          "sentence", "--label_column", "kind", "--output_dir", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"run_finetune.py: error: {data_dir}/train.tsv:1: header is 'sentence\\tlabel', expected 'sentence<TAB>kind'; "
        "add or fix the header line, or name the columns with --text_column and --label_column"
    )
    assert not (tmp_path / "out").exists()  # refused before anything is written
