"""Any labelled text (issue 28): the same rows from every source and format train to the same digits; a five-class run
goes through every command; every way the data can be unfit is refused in one line naming the file and line (or the
split and row, or the flag) and what to do."""

import json
import os
import shutil
import subprocess
import sys

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from errors import ProjectError
from sst_data import SST5_LABEL_NAMES, DataSource, SSTDataError, load_data
from sst_data.trees import convert_release
from training import parse_args

from .conftest import ROOT, SST_TREES_DIR, outcome, predict, run_finetune, train_run

ROWS = 160  # SST-2 training rows for the format test: a few seconds of a tiny model


@pytest.fixture(scope="module")
def rows(sst2_dir) -> list[tuple[str, str]]:
    rows = [tuple(line.split("\t")) for line in (sst2_dir / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    positive, negative = ([row for row in rows if row[1] == label][: ROWS // 2] for label in ("positive", "negative"))
    return [row for pair in zip(positive, negative) for row in pair]  # the file holds its positive rows first


def write_as(path, rows, fmt: str):
    """`rows` (text, label) as a file of `fmt`, or a save_to_disk folder ("disk"), columns `text` and `sentiment`."""
    columns = {"text": [text for text, _ in rows], "sentiment": [label for _, label in rows]}
    if fmt == "tsv":
        path.write_text("text\tsentiment\n" + "".join(f"{t}\t{s}\n" for t, s in rows), encoding="utf-8")
    elif fmt == "csv":
        datasets.Dataset.from_dict(columns).to_csv(str(path), index=False)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "sentiment": s}) + "\n" for t, s in rows), encoding="utf-8")
    elif fmt == "parquet":
        pq.write_table(pa.table(columns), path)
    else:
        datasets.DatasetDict(train=datasets.Dataset.from_dict(columns)).save_to_disk(str(path))
    return path


FORMATS = {"tsv": "train.tsv", "csv": "train.csv", "jsonl": "train.jsonl", "parquet": "train.parquet", "disk": "saved"}


def test_the_same_rows_in_every_format_and_source_train_to_the_same_digits(tmp_path, rows, tiny_model_dir):
    outcomes = {}
    for fmt, name in FORMATS.items():
        source = write_as(tmp_path / name, rows, fmt)
        flag = "--dataset_name" if fmt == "disk" else "--train_file"
        train_run(["--model_name_or_path", tiny_model_dir, flag, source, "--text_column", "text", "--label_column",
                   "sentiment", "--output_dir", tmp_path / f"out-{fmt}", "--sample_fraction", "1.0", "--max_length", "32",
                   "--num_train_epochs", "1", "--learning_rate", "1e-3", "--disable_tqdm", "true"])  # fmt: skip
        outcomes[fmt] = outcome(tmp_path / f"out-{fmt}")
        config = json.loads((tmp_path / f"out-{fmt}" / "config.json").read_text())
        assert config["id2label"] == {"0": "negative", "1": "positive"}, fmt  # sorted: SST-2's ids
    metrics, weights = outcomes["tsv"]
    assert metrics["train_samples"] == 112 and metrics["eval_samples"] == 48  # the notebook's 70/30 split of 160
    for fmt, (other_metrics, other_weights) in outcomes.items():
        assert (other_metrics, other_weights) == (metrics, weights), fmt
    card = (tmp_path / "out-csv" / "README.md").read_text()
    assert "train: `train.csv`" in card and "0.881" not in card  # the file and its sha256; no notebook comparison


def test_a_validation_file_replaces_the_notebook_split_and_a_test_file_without_labels_is_predicted(tmp_path, rows, tiny_model_dir):
    write_as(tmp_path / "train.jsonl", rows[:100], "jsonl")
    write_as(tmp_path / "valid.csv", rows[100:140], "csv")
    (tmp_path / "test.csv").write_text("text\n" + "".join(f'"{t}"\n' for t, _ in rows[140:150]), encoding="utf-8")
    output_dir = tmp_path / "out"
    train_run(["--model_name_or_path", tiny_model_dir, "--train_file", tmp_path / "train.jsonl", "--validation_file",
               tmp_path / "valid.csv", "--test_file", tmp_path / "test.csv", "--text_column", "text", "--label_column",
               "sentiment", "--output_dir", output_dir, "--sample_fraction", "0.5", "--max_length", "32",
               "--num_train_epochs", "1"])  # fmt: skip
    results = json.loads((output_dir / "all_results.json").read_text())
    assert (results["train_samples"], results["eval_samples"]) == (50, 40)  # the sample trains, the file validates
    predictions = (output_dir / "test_predictions.tsv").read_text().splitlines()
    assert predictions[0] == "index\tprediction" and len(predictions) == 11
    assert "validation (valid.csv)" in (output_dir / "evaluation.md").read_text()


@pytest.fixture(scope="module")
def sst5_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sst5")
    convert_release(SST_TREES_DIR, folder, labels=5)
    return folder


def test_sst5_converts_the_root_label_of_every_tree(sst5_dir, tmp_path):
    counts = {}
    for split in ("train", "dev"):
        labels = [line.split("\t")[1] for line in (sst5_dir / f"{split}.tsv").read_text().splitlines()[1:]]
        counts[split] = [labels.count(name) for name in SST5_LABEL_NAMES]
    assert counts["train"] == [1092, 2218, 1624, 2322, 1288] and sum(counts["dev"]) == 1101  # the release's root labels
    assert json.loads((sst5_dir / "conversion.json").read_text())["labels"] == SST5_LABEL_NAMES
    data = load_data(DataSource(data_dir=str(sst5_dir)), tmp_path)
    assert data.label_names == SST5_LABEL_NAMES  # conversion.json's order, not the sorted names

    two = tmp_path / "sst2"  # --labels 2 stays the notebook's files, byte for byte
    convert_release(SST_TREES_DIR, two)
    assert (two / "train.tsv").read_bytes() == (ROOT.parent / "shared" / "data" / "sst2" / "train.tsv").read_bytes()


def five_class_flags(model_dir, data_dir, *extra) -> list[str]:
    return ["--config", str(ROOT / "recipes" / "sst5.yaml"), "--model_name_or_path", str(model_dir), "--data_dir",
            str(data_dir), "--sample_fraction", "0.03", "--max_length", "32", "--num_train_epochs", "1",
            "--disable_tqdm", "true", *extra]  # fmt: skip


def cli(script: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, *(["-m", script] if "." in script and not script.endswith(".py") else [str(ROOT / script)])]
    result = subprocess.run([*command, *args], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_a_five_class_run_goes_through_every_command(tmp_path, sst5_dir, tiny_model_dir):
    run = tmp_path / "run"
    result = run_finetune(*five_class_flags(tiny_model_dir, sst5_dir, "--output_dir", str(run)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "notebook" not in result.stdout and "Errors on a neighbour" in result.stdout
    results = json.loads((run / "all_results.json").read_text())
    assert {f"eval_f1_{name.replace(' ', '_')}" for name in SST5_LABEL_NAMES} <= set(results)
    assert 0 <= results["eval_neighbour_errors"] <= 1 and results["eval_samples"] == 1101
    config = json.loads((run / "config.json").read_text())
    assert list(config["id2label"].values()) == SST5_LABEL_NAMES
    card = (run / "README.md").read_text()
    assert "SST-5" in card and "very negative" in card and "0.881" not in card

    dev = sst5_dir / "dev.tsv"
    predicted = predict("--output_dir", str(run), "--input", str(dev), "--predictions", str(tmp_path / "p.tsv"))
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    header = (tmp_path / "p.tsv").read_text().splitlines()[0].split("\t")
    assert header == ["review", "label", "probability", *(f"p_{n.replace(' ', '_')}" for n in SST5_LABEL_NAMES)]
    assert "very positive" in (tmp_path / "p_evaluation.md").read_text()

    cli("inference.export", "--output_dir", str(run))  # its own check: ONNX's five logits against PyTorch's
    assert "onnx/" in (run / "README.md").read_text()
    pushed = cli("push_to_hub.py", "--output_dir", str(run), "--hub_model_id", "me/sst5", "--dry_run")
    assert "Dry run" in pushed.stdout and "config.json" in pushed.stdout

    cli("run_seeds.py", "--seeds", "1", "2", "--output_dir", str(tmp_path / "seeds"),
        *five_class_flags(tiny_model_dir, sst5_dir, "--max_steps", "2"))  # fmt: skip
    study = json.loads((tmp_path / "seeds" / "seeds.json").read_text())
    assert study["verdict"].startswith("Validation over 2 runs: accuracy") and "notebook" not in study["verdict"]

    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {type: float, low: 1.0e-4, high: 1.0e-3, log: true}\n")
    cli("run_search.py", "--trials", "2", "--space", str(space), "--seeds", "none", "--metric", "macro_f1", "--output_dir",
        str(tmp_path / "search"), *five_class_flags(tiny_model_dir, sst5_dir, "--max_steps", "2"))  # fmt: skip
    record = json.loads((tmp_path / "search" / "search.json").read_text())
    assert len(record["trials"]) == 2 and record["metric"] == "eval_macro_f1"
    trial = json.loads((tmp_path / "search" / "trial-0" / "all_results.json").read_text())
    assert record["trials"][0]["value"] == trial["eval_macro_f1"] != trial["eval_accuracy"]
    assert "expected best validation macro-F1" in record["verdict"] and "notebook" not in record["verdict"]
    assert record["selected_on"] == "validation (dev, official)"


def refusal(tmp_path, **flags) -> str:
    with pytest.raises(SSTDataError) as err:
        load_data(DataSource(**flags), tmp_path / "cache")
    assert "\n" not in str(err.value)
    return str(err.value)


def test_each_unfit_source_is_refused_in_one_line_naming_where_and_what_to_do(tmp_path, rows):
    good = write_as(tmp_path / "good.csv", rows[:20], "csv")
    missing = tmp_path / "nope.csv"
    assert refusal(tmp_path, train_file=str(missing)) == (
        f"--train_file {missing}: file not found; pass an existing .tsv, .csv, .jsonl, .json, .parquet file"
    )
    assert refusal(tmp_path, train_file=str(good)) == (
        f"{good}: no column 'review'; its columns are text, sentiment; name the right one with --text_column"
    )
    flags = {"text_column": "text", "label_column": "sentiment"}

    def file_of(name: str, text: str):
        (tmp_path / name).write_text(text, encoding="utf-8")
        return str(tmp_path / name)

    dev = file_of("dev.jsonl", '{"text": "a", "sentiment": "negative"}\n{"text": "b", "sentiment": "neutral"}\n')
    assert refusal(tmp_path, train_file=str(good), validation_file=dev, **flags) == (
        f"{dev}:2: label 'neutral' is not one of the training rows' labels ('negative', 'positive'); the split's labels "
        "are 'negative', 'neutral'; fix the label, or add rows of it to the training data"
    )
    one = file_of("one.csv", "text,sentiment\nfine,positive\ngood,positive\n")
    assert refusal(tmp_path, train_file=one, **flags) == (
        f"{one}: the training rows hold one label ('positive'); a classifier needs at least two classes"
    )
    assert refusal(tmp_path, train_file=str(good), label_names="negative,neutral", **flags) == (
        f"{good}:2: label 'positive' is not one of negative, neutral (or 0 to 1); the split's labels are 'negative', "
        "'positive'; fix the label, or pass --label_names naming every label of the data"
    )
    mixed = file_of("mixed.csv", "text,sentiment\nfine,1\nbad,negative\n")
    assert refusal(tmp_path, train_file=mixed, **flags) == (
        f"{mixed}: labels of mixed types: numbers ('1', {mixed}:2) and names ('negative'); give one kind"
    )
    floats = file_of("floats.jsonl", '{"text": "a", "sentiment": 0.5}\n{"text": "b", "sentiment": 1.0}\n')
    assert refusal(tmp_path, train_file=floats, **flags) == (
        f"{floats}: labels are numbers with fractions (e.g. 0.5): that is regression, which this suite does not do; "
        "give one class label a row"
    )
    lists = file_of("lists.jsonl", '{"text": "a", "sentiment": [0, 1]}\n{"text": "b", "sentiment": [1]}\n')
    assert refusal(tmp_path, train_file=lists, **flags) == (
        f"{lists}: labels are lists (e.g. [0, 1]): that is multi-label classification, which this suite does not do; "
        "give one class label a row"
    )
    blank = file_of("blank.jsonl", '{"text": "a", "sentiment": "x"}\n{"text": " ", "sentiment": "y"}\n')
    assert refusal(tmp_path, train_file=blank, **flags) == f"{blank}:2: review is empty; remove the row or fill in its text"
    nolabel = file_of("nolabel.csv", "text,sentiment\nfine,positive\nbad,\n")
    assert refusal(tmp_path, train_file=nolabel, **flags) == f"{nolabel}:3: label is missing; fill it in or remove the row"

    saved = write_as(tmp_path / "saved", rows[:20], "disk")
    assert refusal(tmp_path, dataset_name=str(saved), validation_split_name="dev", **flags) == (
        f"--dataset_name {saved}: no split 'dev' (--validation_split_name); its splits are train"
    )
    message = refusal(tmp_path, dataset_name="nobody/no-such-dataset-here")
    assert message.startswith("--dataset_name nobody/no-such-dataset-here: neither in the local cache nor reachable (")
    assert message.endswith("); connect once to cache it, or pass a local dataset folder or --train_file")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--train_file", "x.txt"], "--train_file x.txt: unknown format '.txt'; give a .tsv, .csv, .jsonl, .json, .parquet file"),
        (["--dataset_name", "a/b", "--train_file", "x.csv"], "--dataset_name and --train_file: one source of data; pass the dataset or the files"),
        (["--validation_file", "x.csv"], "--config recipes/notebook.yaml: --data_dir and --validation_file: one source of data; pass the folder or the files"),
        (["--train_file", "x.csv", "--label_names", "only"], "--label_names only: name at least two labels, comma-separated"),
        (["--train_file", "x.csv", "--validation_split", "dev"], "--validation_split dev: validates on a data folder's dev.tsv; with --train_file pass --validation_file, with --dataset_name --validation_split_name"),
    ],
)
def test_unfit_data_flags_are_refused_before_anything_loads(flags, message, tiny_model_dir, tmp_path):
    with pytest.raises(ProjectError) as err:
        parse_args(["--model_name_or_path", str(tiny_model_dir), "--output_dir", str(tmp_path / "out"), *flags])
    assert str(err.value) == message


def test_a_source_on_the_command_line_replaces_the_recipes(tmp_path, rows, tiny_model_dir):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(f"base: {ROOT / 'recipes' / 'fast.yaml'}\ntrain_file: {tmp_path / 'a.csv'}\nlabel_names: b,a\n")
    _, data_args, _ = parse_args(["--config", str(recipe), "--model_name_or_path", str(tiny_model_dir)])
    assert (data_args.data_dir, data_args.train_file, data_args.label_names) == (None, str(tmp_path / "a.csv"), "b,a")
    _, data_args, _ = parse_args(["--config", str(recipe), "--model_name_or_path", str(tiny_model_dir), "--data_dir", "d"])
    assert (data_args.data_dir, data_args.train_file, data_args.label_names) == ("d", None, None)


def test_a_classifier_with_another_head_gets_a_new_one_said_in_one_line(tmp_path, rows, tiny_model_dir, caplog):
    three = tmp_path / "three"
    write_as(tmp_path / "three.csv", [(t, s if i % 3 else "neutral") for i, (t, s) in enumerate(rows)], "csv")
    train_run(["--model_name_or_path", tiny_model_dir, "--train_file", tmp_path / "three.csv", "--text_column", "text",
               "--label_column", "sentiment", "--output_dir", three, "--sample_fraction", "0.5", "--max_length", "32",
               "--max_steps", "2"])  # fmt: skip
    shutil.rmtree(three / "checkpoint-2", ignore_errors=True)
    two = write_as(tmp_path / "two.csv", rows, "csv")
    with caplog.at_level("INFO"):
        train_run(["--model_name_or_path", three, "--train_file", two, "--text_column", "text", "--label_column",
                   "sentiment", "--output_dir", tmp_path / "two", "--sample_fraction", "0.5", "--max_length", "32",
                   "--max_steps", "2"])  # fmt: skip
    assert f"{three} is a classifier of 3 labels (negative, neutral, positive): a new head of 2 labels is trained" in caplog.text
    assert json.loads((tmp_path / "two" / "config.json").read_text())["id2label"] == {"0": "negative", "1": "positive"}
