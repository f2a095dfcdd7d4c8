"""Using a finished run, on a real MiniLM run and real SST-2: pipeline, the predict command on every input layout and
every bad input, the ONNX export (fp32 equal to PyTorch, int8 within half a point), its card and upload."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard
from transformers import pipeline

from errors import ProjectError
from inference import Classifier
from inference.export import export_run
from inference.predict import PROG
from inference.predict import main as predict_main
from run_folder import InferenceError
from sst_data import SSTDataError, notebook_sample
from training_report import probabilities, push_run

from .conftest import ROOT, fingerprints, load_folder, predict, short_run, train_run

LONG_REVIEW = " ".join(["a gorgeous , witty , seductive movie that never lets its wit get in the way ."] * 8)


def tsv_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def dev_rows(sst2_dir) -> list[dict]:
    return tsv_rows(sst2_dir / "dev.tsv")


def run_dev_predictions(run, sst2_dir) -> dict[str, tuple[str, float | None]]:
    """The run's own dev evaluation, per review: (predicted label, its probability where the run wrote it): every
    review is predicted right except those in dev_misclassified.tsv."""
    predicted = {row["review"]: (row["label"], None) for row in dev_rows(sst2_dir)}
    for row in tsv_rows(run / "dev_misclassified.tsv"):
        predicted[row["review"]] = (row["predicted"], float(row["probability"]))
    return predicted


@pytest.fixture(scope="module")
def exported(minilm_run):
    """The run exported with `python -m inference.export`, as a user runs it."""
    result = subprocess.run([sys.executable, "-m", "inference.export", "--output_dir", str(minilm_run)],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{minilm_run}/onnx/model_quantized.onnx" in result.stdout
    assert "Warning" not in result.stderr and "WARNING" not in result.stderr  # the exporter's noise is kept out
    return minilm_run


@pytest.fixture(scope="module")
def heldout_tsv(tmp_path_factory, sst2_dir):
    """A labelled file the run never saw: the ~4840 reviews of train.tsv outside its 30% sample (with fewer, int8's
    few changed labels make the accuracy difference noisy: the first 1000 alone put it 1.2 points below)."""
    seen = set(notebook_sample(load_folder(sst2_dir)["train"], 0.3, 42)["review"])
    lines = (sst2_dir / "train.tsv").read_text().splitlines()
    unseen = [line for line in lines[1:] if line.split("\t")[0] not in seen]
    path = tmp_path_factory.mktemp("heldout") / "heldout.tsv"
    path.write_text("\n".join([lines[0], *unseen]) + "\n")
    return path


def test_pipeline_gives_the_runs_own_dev_predictions(minilm_run, sst2_dir):
    classifier = pipeline("text-classification", model=str(minilm_run))
    reviews = [row["review"] for row in dev_rows(sst2_dir)]
    outputs = classifier(reviews, truncation=True, batch_size=32)
    expected = run_dev_predictions(minilm_run, sst2_dir)
    assert {output["label"] for output in outputs} == {"negative", "positive"}
    assert [output["label"] for output in outputs] == [expected[review][0] for review in reviews]
    for review, output in zip(reviews, outputs):
        if expected[review][1] is not None:  # wrong ones: the run wrote their probability (4 decimals)
            assert output["score"] == pytest.approx(expected[review][1], abs=1e-4)
    assert classifier.tokenizer.model_max_length == 64  # the run's --max_length: truncation=True cuts like training


def test_card_pipeline_snippet_runs_on_the_run_folder(minilm_run, tmp_path):
    card = (minilm_run / "README.md").read_text()
    snippet = re.search(r"## Use\n\n```python\n(.*?)```", card, re.DOTALL)[1]
    model_id = re.search(r'model="([^"]+)"', snippet)[1]
    # No --hub_model_id: a placeholder saying to replace it. The base model is known by its own card, as is its license.
    assert f'model="{model_id}")  # replace with the repo this model is pushed to' in snippet and model_id == "<user>/<repo>"
    metadata = ModelCard(card).data
    assert (metadata.base_model, metadata.license) == ("sentence-transformers/all-MiniLM-L6-v2", "apache-2.0")
    code = snippet.replace(f'model="{model_id}"', f'model="{minilm_run}"')
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    printed = eval(result.stdout.strip().splitlines()[-1])  # the snippet prints the pipeline's output
    texts = re.search(r"classifier\((\[.*?\]), truncation=True\)", snippet)[1]
    logits, _ = Classifier(minilm_run, "torch").logits(eval(texts))
    assert [p["label"] for p in printed] == [["negative", "positive"][i] for i in logits.argmax(-1)]
    assert [p["score"] for p in printed] == pytest.approx(probabilities(logits).max(-1), abs=1e-6)


def test_predict_on_labelled_tsv_writes_predictions_and_the_dev_evaluation(minilm_run, sst2_dir, tmp_path, capsys):
    predictions = tmp_path / "out" / "dev_predictions.tsv"
    predict_main(["--output_dir", str(minilm_run), "--input", str(sst2_dir / "dev.tsv"),
                  "--predictions", str(predictions)])  # fmt: skip
    printed = capsys.readouterr().out
    rows, gold = tsv_rows(predictions), dev_rows(sst2_dir)
    expected = run_dev_predictions(minilm_run, sst2_dir)
    assert list(rows[0]) == ["review", "label", "probability", "p_negative", "p_positive"]
    assert all(float(row["probability"]) == float(row[f"p_{row['label']}"]) for row in rows)  # the predicted one's
    assert all(abs(float(row["p_negative"]) + float(row["p_positive"]) - 1) <= 1e-4 for row in rows)
    assert [row["review"] for row in rows] == [row["review"] for row in gold]  # input order
    assert [row["label"] for row in rows] == [expected[row["review"]][0] for row in rows]
    assert all(0.5 <= float(row["probability"]) <= 1 for row in rows)

    results = json.loads((minilm_run / "all_results.json").read_text())
    scores = json.loads((tmp_path / "out" / "dev_predictions_results.json").read_text())
    assert scores["dev_predictions_accuracy"] == pytest.approx(results["dev_accuracy"], abs=1e-12)
    assert scores["dev_predictions_macro_f1"] == pytest.approx(results["dev_macro_f1"], abs=1e-12)
    assert scores["dev_predictions_loss"] == pytest.approx(results["dev_loss"], abs=1e-4)
    assert scores["dev_predictions_samples"] == 872
    report = (tmp_path / "out" / "dev_predictions_evaluation.md").read_text()
    assert report in printed and f"| dev_predictions | 872 | {results['dev_loss']:.4f} | {results['dev_accuracy']:.4f} |" in report
    assert (tmp_path / "out" / "dev_predictions_confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    wrong = tsv_rows(tmp_path / "out" / "dev_predictions_misclassified.tsv")
    assert sorted(r["review"] for r in wrong) == sorted(r["review"] for r in tsv_rows(minilm_run / "dev_misclassified.tsv"))
    assert "872 reviews from" in printed and "0 of 872 reviews longer than 64 tokens" in printed
    assert f"Predictions in {predictions}" in printed
    assert sorted(p.name for p in predictions.parent.iterdir() if p.name.startswith(".")) == []  # no temporary files


def test_predict_on_plain_text_and_stdin_gives_the_same_predictions(minilm_run, sst2_dir, tmp_path, capsys):
    reviews = [row["review"] for row in dev_rows(sst2_dir)][:40] + [LONG_REVIEW, LONG_REVIEW + " a dull mess" * 30]
    plain = tmp_path / "reviews.txt"
    plain.write_text("\n".join(reviews) + "\n")
    predict_main(["--output_dir", str(minilm_run), "--input", str(plain)])  # to standard output
    captured = capsys.readouterr()
    rows = list(csv.DictReader(captured.out.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert [row["review"] for row in rows] == reviews
    expected = run_dev_predictions(minilm_run, sst2_dir)
    assert [row["label"] for row in rows[:40]] == [expected[review][0] for review in reviews[:40]]
    # Cut to 64 tokens like training: what follows the first 64 tokens changes nothing.
    assert rows[-1]["label"] == rows[-2]["label"] and rows[-1]["probability"] == rows[-2]["probability"]
    assert "2 of 42 reviews longer than 64 tokens were cut to 64, as in training" in captured.err  # not in the TSV

    result = predict("--output_dir", str(minilm_run), "--input", "-", stdin="".join(f"{r}\n" for r in reviews))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == captured.out  # standard input, byte for byte the same predictions
    assert "42 reviews from <stdin>, torch" in result.stderr


def test_predict_on_glue_test_layout_writes_glues_submission_layout(minilm_run, sst2_dir, tmp_path):
    reviews = [row["review"] for row in dev_rows(sst2_dir)][:50]
    glue = tmp_path / "test.tsv"  # GLUE's SST-2 test.tsv: index<TAB>sentence, no label
    glue.write_text("index\tsentence\n" + "".join(f"{i}\t{r}\n" for i, r in enumerate(reviews, start=100)))
    predictions = tmp_path / "SST-2.tsv"
    predict_main(["--output_dir", str(minilm_run), "--input", str(glue), "--text_column", "sentence",
                  "--predictions", str(predictions), "--backend", "torch"])  # fmt: skip
    lines = predictions.read_text().splitlines()
    assert lines[0] == "index\tprediction"
    expected = run_dev_predictions(minilm_run, sst2_dir)
    assert lines[1:] == [f"{i}\t{['negative', 'positive'].index(expected[r][0])}" for i, r in enumerate(reviews, 100)]
    assert not list(tmp_path.glob("SST-2_*"))  # unlabelled: no evaluation files


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.txt", b"", "{path}: file is empty; expected one review per line"),
        ("latin1.txt", b"a fine film\nbad caf\xe9 food\n", "{path}:2: byte 0xe9 at column 8 is not UTF-8; re-save the file as UTF-8"),
        ("gap.txt", b"a fine film\n\na dull one\n", "{path}:2: line is blank; remove it"),
        ("blank.tsv", b"review\tlabel\na fine film\tpositive\n  \n", "{path}:3: line is blank; remove it"),
        ("tab.txt", b"a fine film\nfine\tfilm\n", "{path}:2: 2 tab-separated fields, expected 1 ('review'); a review must not contain a tab"),
        ("header.tsv", b"review\tlabel\n", "{path}: has a header but no rows; add one 'review' (and optionally 'label') row per review"),
        ("labels.tsv", b"review\tlabel\nok\tneutral\n", "{path}:2: label 'neutral' is not one of negative, positive (or 0, 1); the file's labels are 'neutral'; fix the label"),
    ],
)  # fmt: skip
def test_bad_input_stops_in_one_line_and_writes_nothing(minilm_run, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    predictions = tmp_path / "out" / "predictions.tsv"
    with pytest.raises(SSTDataError) as error:
        predict_main(["--output_dir", str(minilm_run), "--input", str(path), "--predictions", str(predictions)])
    assert str(error.value) == message.format(path=path)
    assert not predictions.parent.exists()


def test_bad_run_folders_stop_in_one_line(minilm_run, tmp_path, sst2_dir):
    unfinished = tmp_path / "unfinished"  # the model is there, all_results.json (written last) is not
    unfinished.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        (unfinished / name).symlink_to(minilm_run / name)
    no_model = tmp_path / "no-model"
    no_model.mkdir()
    (no_model / "all_results.json").write_text("{}")
    cases = {
        tmp_path / "nowhere": "{run}: run folder not found; pass the --output_dir of a finished run_finetune.py run",
        no_model: "{run}: holds no model (config.json, model.safetensors); pass the --output_dir of a finished "
        "run_finetune.py run",
        unfinished: "{run}: the run is unfinished (no all_results.json); rerun its training command to finish it "
        "(it resumes from its last checkpoint), then {then}",
    }
    for run, message in cases.items():
        with pytest.raises(InferenceError) as error:
            predict_main(["--output_dir", str(run), "--input", str(sst2_dir / "dev.tsv")])
        assert str(error.value) == message.format(run=run, then="predict")
        with pytest.raises(InferenceError) as error:
            export_run(run)
        assert str(error.value) == message.format(run=run, then="export")
        assert not (run / "onnx").exists()


def test_cli_error_is_one_line_without_traceback_and_leaves_no_file(minilm_run, tmp_path):
    predictions = tmp_path / "predictions.tsv"
    result = predict("--output_dir", str(minilm_run), "--input", "-", "--predictions", str(predictions),
                     stdin="a fine film\n\n")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{PROG}: error: <stdin>:2: line is blank; remove it"]
    assert not predictions.exists() and list(tmp_path.iterdir()) == []
    result = predict("--output_dir", str(minilm_run), "--input", "-", "--batch_size", "0", stdin="ok\n")
    assert result.returncode == 1 and result.stderr.splitlines()[-1] == f"{PROG}: error: --batch_size 0: must be an integer >= 1"


def test_onnx_backend_before_export_says_how_to_export(minilm_run, sst2_dir, tmp_path):
    run = tmp_path / "copy"  # a finished run that was never exported
    run.mkdir()
    for path in minilm_run.iterdir():
        if path.is_file():
            (run / path.name).symlink_to(path)
    with pytest.raises(InferenceError) as error:
        predict_main(["--output_dir", str(run), "--input", str(sst2_dir / "dev.tsv"), "--backend", "onnx-int8"])
    assert str(error.value) == f"{run}/onnx/model_quantized.onnx: not found; export the run first: make export OUTPUT_DIR={run}"


def test_export_fp32_equals_pytorch_and_int8_stays_within_half_a_point(exported, sst2_dir, heldout_tsv):
    classifiers = {backend: Classifier(exported, backend) for backend in ("torch", "onnx", "onnx-int8")}
    for path in (sst2_dir / "dev.tsv", heldout_tsv):
        rows = tsv_rows(path)
        reviews, gold = [row["review"] for row in rows], np.array([row["label"] == "positive" for row in rows])
        results = {b: probabilities(c.logits(reviews, progress=False)[0]) for b, c in classifiers.items()}
        torch_probs, fp32, int8 = results["torch"], results["onnx"], results["onnx-int8"]
        assert np.abs(fp32 - torch_probs).max() <= 1e-4, path
        assert (fp32.argmax(-1) == torch_probs.argmax(-1)).all(), path
        torch_accuracy, int8_accuracy = ((p.argmax(-1) == gold).mean() for p in (torch_probs, int8))
        assert abs(int8_accuracy - torch_accuracy) <= 0.005, (path, torch_accuracy, int8_accuracy)
        assert 0 < (int8.argmax(-1) != torch_probs.argmax(-1)).sum()  # int8 is not fp32 in disguise
    sizes = {name: (exported / "onnx" / name).stat().st_size for name in ("model.onnx", "model_quantized.onnx")}
    assert sizes["model_quantized.onnx"] < 0.7 * sizes["model.onnx"]  # int8 weights, fp32 embeddings


def test_predict_with_either_onnx_export_keeps_the_output_format_and_shows_progress(exported, sst2_dir, tmp_path, capsys):
    for backend in ("torch", "onnx", "onnx-int8"):
        predict_main(["--output_dir", str(exported), "--input", str(sst2_dir / "dev.tsv"), "--backend", backend,
                      "--predictions", str(tmp_path / f"{backend}.tsv")])  # fmt: skip
        assert f"Predicting ({backend}): 100%" in capsys.readouterr().err  # 28 batches: a progress bar
    torch_rows, fp32_rows, int8_rows = (tsv_rows(tmp_path / f"{b}.tsv") for b in ("torch", "onnx", "onnx-int8"))
    assert list(int8_rows[0]) == list(fp32_rows[0]) == list(torch_rows[0]) == ["review", "label", "probability",
                                                                              "p_negative", "p_positive"]  # fmt: skip
    assert [r["review"] for r in int8_rows] == [r["review"] for r in fp32_rows] == [r["review"] for r in torch_rows]
    assert [r["label"] for r in fp32_rows] == [r["label"] for r in torch_rows]
    fp32, eager = ([float(r["probability"]) for r in rows] for rows in (fp32_rows, torch_rows))
    assert fp32 == pytest.approx(eager, abs=1.5e-4)  # printed to 4 decimals
    agree = sum(a["label"] == b["label"] for a, b in zip(torch_rows, int8_rows))
    assert 0.97 * len(torch_rows) <= agree < len(torch_rows)


def test_export_is_in_the_card_and_the_upload(exported, tmp_path, capsys):
    card = (exported / "README.md").read_text()
    assert card.count("## Use on a CPU, with ONNX Runtime") == 1
    export_run(exported)  # again: the section is renewed, not repeated
    card = (exported / "README.md").read_text()
    assert card.count("## Use on a CPU, with ONNX Runtime") == 1 and "## Use\n" in card
    assert sorted(p.name for p in exported.iterdir() if p.name.startswith(".")) == []  # no staging folder left

    snippet = re.search(r"## Use on a CPU, with ONNX Runtime\n.*?```python\n(.*?)```", card, re.DOTALL)[1]
    download = re.search(r'snapshot_download\([^)]*\) \+ "/onnx"', snippet)[0]
    result = subprocess.run([sys.executable, "-c", snippet.replace(download, repr(str(exported / "onnx")))],
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    logits, _ = Classifier(exported, "onnx-int8").logits(["a gorgeous, witty, seductive movie."])
    assert result.stdout.strip() == str([["negative", "positive"][logits.argmax()]])

    push_run(exported, "you/minilm-sst2", dry_run=True)
    listed = capsys.readouterr().out
    for name in ("onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/config.json", "onnx/tokenizer.json"):
        assert f"  {name}\n" in listed
    assert not (exported / "hub_upload").exists()  # listed from the run folder, nothing copied


def test_bench_predict_prints_the_side_by_side_tables(exported, sst2_dir, tmp_path):
    small = tmp_path / "dev-100.tsv"
    small.write_text("".join((sst2_dir / "dev.tsv").read_text().splitlines(keepends=True)[:101]))
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_predict", "--output_dir", str(exported),
         "--files", str(small), "--quick", "--no_levers", "--json", str(report)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(report.read_text())
    assert [row["contender"] for row in measured["speed"]] == ["PyTorch eager", "ONNX fp32", "ONNX int8"]
    assert all(row["p50_ms"] <= row["p95_ms"] and row["batch_32_per_s"] > 0 for row in measured["speed"])
    fp32 = next(row for row in measured["correctness"] if row["backend"] == "onnx")
    assert fp32["reviews"] == 100 and fp32["max_abs_delta_probability"] <= 1e-4 and fp32["labels_differing"] == 0
    assert measured["matmul_gflops"] > 0 and "| ONNX int8 | 56." in result.stdout  # its size in MB


def test_every_output_target_is_checked_before_the_model_loads_and_nothing_a_user_owns_is_overwritten(tmp_path, sst2_dir):
    """No run is needed: the targets are checked first (the run folder named here does not even exist)."""
    labelled = tmp_path / "labelled.tsv"
    labelled.write_bytes((sst2_dir / "dev.tsv").read_bytes())
    (tmp_path / "alias.tsv").symlink_to(labelled)
    (tmp_path / "notes.tsv").write_text("my\tnotes\n")
    (tmp_path / "mine_results.json").write_text("{}")  # a user's file where the evaluation of mine.tsv would go
    no_run = tmp_path / "no-run"
    cases = {
        labelled: "is the input file, whose reviews (and labels) the predictions would replace; write them to another file",
        tmp_path / "alias.tsv": "is the input file, whose reviews (and labels) the predictions would replace",
        tmp_path: f"is a folder; name a file, e.g. {tmp_path / 'predictions.tsv'}",
        tmp_path / "notes.tsv": "exists and is not a predictions file (its first line is not 'review\\tlabel\\tprobability' "
        "or 'index\\tprediction'); choose another file, or move it away",
        tmp_path / "mine.tsv": f"{tmp_path / 'mine_results.json'} would be overwritten by its evaluation and was not "
        "written with these predictions",
        Path("/sys/sst2-predictions/out.tsv"): "cannot write there (",
    }
    before = fingerprints(tmp_path)
    for target, message in cases.items():
        with pytest.raises(ProjectError) as error:
            predict_main(["--output_dir", str(no_run), "--input", str(labelled), "--predictions", str(target)])
        assert str(error.value).startswith(f"--predictions {target}: ") and message in str(error.value), error.value
    assert fingerprints(tmp_path) == before  # the input and every file beside it as they were

    result = predict("--output_dir", str(no_run), "--input", str(labelled), "--predictions", str(labelled))
    assert result.returncode == 1 and result.stderr.splitlines() == [
        f"{PROG}: error: --predictions {labelled}: is the input file, whose reviews (and labels) the predictions would "
        + "replace; write them to another file"
    ]
    assert fingerprints(tmp_path) == before



def test_a_distilbert_run_with_a_bert_tokenizer_exports_and_predicts_alike_on_every_backend(tiny_model_dir, sst2_dir, tmp_path, capsys):
    """The tiny DistilBERT carries MiniLM's BERT tokenizer, which emits token_type_ids that DistilBERT's forward does not
    take: the Trainer drops them by the forward's signature, and so must export and the torch backend."""
    run = tmp_path / "run"
    train_run(short_run(tiny_model_dir, sst2_dir, run, epochs=1) + ["--save_strategy", "no"])
    assert "token_type_ids" in Classifier(run, "torch").tokenizer("a review")
    export_run(run)
    reviews = [row["review"] for row in tsv_rows(sst2_dir / "dev.tsv")[:64]]
    logits = {backend: Classifier(run, backend).logits(reviews, progress=False)[0] for backend in ("torch", "onnx")}
    assert np.abs(logits["torch"] - logits["onnx"]).max() < 1e-4
    one = tmp_path / "one.txt"  # one review is "1 review", not "1 reviews"
    one.write_text("a gorgeous, witty, seductive movie.\n")
    capsys.readouterr()
    predict_main(["--output_dir", str(run), "--input", str(one)])
    log = capsys.readouterr().err
    assert f"1 review from {one}, torch" in log and "0 of 1 review longer than 32 tokens" in log, log
