"""Trainer port of the notebook: same optimisation as its plain loop, its schedule, its outputs."""

import ast
import copy
import csv
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from torch.utils.data import DataLoader
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    get_linear_schedule_with_warmup,
    set_seed,
)

from errors import ProjectError
from inference import Classifier
from sst_data import LABEL_NAMES, notebook_sample, tokenize_reviews
from sst_data.trees import convert_release
from training import load_model_and_tokenizer, parse_args
from training_report.plots import confusion_figure, epochs_figure
from training_report.splits import split_names

from .conftest import ROOT, SST_TREES_DIR, last_error_line, load_folder, notebook_learning_rates, train_run
from .conftest import run_finetune as run_script

NOTEBOOK = {"learning_rate": 2e-5, "eps": 1e-8, "batch_size": 32, "epochs": 4, "max_grad_norm": 1.0}


def test_the_plot_draws_no_empty_series_and_losses_without_an_offset():
    """`--eval_strategy no`: no validation loss or accuracy to draw; losses a hundred-thousandth apart stay readable."""
    rows = [{"epoch": e, "training_loss": 0.69310 + e * 1e-5, "validation_loss": None, "accuracy": None} for e in (1, 2, 3)]
    figure = epochs_figure(rows)
    figure.canvas.draw()
    loss_axes, accuracy_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["training"]
    assert [line.get_label() for line in accuracy_axes.lines] == ["notebook (DistilBERT)"]  # the reference only
    assert loss_axes.yaxis.get_offset_text().get_text() == ""  # matplotlib's default would show "1e-5+6.931e-1"
    for axes in figure.axes:  # legends under the axes, where they hide no point (one epoch: points at the edges)
        assert axes.get_legend().get_window_extent().y1 <= axes.get_window_extent().y0


def test_the_confusion_matrix_shows_its_whole_title_and_every_count():
    """The split's title and accuracy are wider than the figure: wrapped, not cut at its edge."""
    title = f"{split_names(0.3)['eval'].title}: accuracy 0.8468"
    figure = confusion_figure([[408, 68], [91, 471]], ["negative", "positive"], title)
    figure.canvas.draw()
    (axes,) = figure.axes
    assert axes.get_title().replace("\n", " ") == title
    inside, box = axes.title.get_window_extent(), figure.bbox
    assert box.x0 <= inside.x0 and inside.x1 <= box.x1 and inside.y1 <= box.y1
    assert sorted(text.get_text() for text in axes.texts) == ["408", "471", "68", "91"]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["negative", "positive"]


def test_the_validation_split_is_named_for_the_fraction_it_holds():
    held_out = split_names(0.2)["eval"]
    assert held_out.title == "validation (held-out 20% of the sample)"
    assert held_out.hub_dataset_name == "SST-2 train.tsv, the notebook's held-out 20%" and held_out.hub_dataset != "stanfordnlp/sst2"
    assert split_names(0.2, "dev")["eval"].title == "validation (dev, official)"


@pytest.mark.slow
def test_installed_package_runs_the_notebook_recipe_from_another_folder(tmp_path, sst2_dir, tiny_model_dir):
    """A non-editable install (the wheel, into a folder of its own), then `python -m run_finetune` from elsewhere:
    the recipes and the metric module travel as package data."""
    source, site = tmp_path / "source", tmp_path / "site"  # a copy: building writes build/ beside the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "outputs", "data", "*.egg-info"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--target", str(site), str(source)], capture_output=True, text=True)  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    assert (site / "recipes" / "notebook.yaml").is_file() and (site / "metrics" / "classification" / "classification.py").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site)}  # the installed copy before the checkout's
    where = subprocess.run([sys.executable, "-c", "import run_finetune; print(run_finetune.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, env=env)  # fmt: skip
    assert where.stdout.strip() == str(site / "run_finetune.py")
    result = subprocess.run(
        [sys.executable, "-m", "run_finetune", "--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir),
         "--output_dir", "out", "--sample_fraction", "0.05", "--max_length", "32", "--num_train_epochs", "1"],
        capture_output=True, text=True, cwd=elsewhere, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((elsewhere / "out" / "all_results.json").read_text())
    assert results["train_samples"] == 242 and results["epoch"] == 1


def test_every_imported_package_is_a_declared_dependency():
    """The third-party modules the project's code imports, against pyproject.toml's dependencies (the project's
    code may also use its feature extras, onnx and tensorboard; tests and benchmarks the test extra too)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = {"main": project["dependencies"] + [d for name, ds in extras.items() if name != "test" for d in ds],
                "test": [d for ds in extras.values() for d in ds]}  # fmt: skip
    names = {kind: {re.split(r"[<>=\[ ;]", d)[0].lower().replace("_", "-") for d in deps} for kind, deps in declared.items()}
    own = {path.parent.name for path in ROOT.glob("*/__init__.py")} | {p.stem for p in [*ROOT.glob("*.py"), *ROOT.glob("benchmarks/*.py")]}
    distributions = importlib.metadata.packages_distributions()
    packages = [f"{path.parent.name}/**/*.py" for path in ROOT.glob("*/__init__.py") if path.parent.name not in ("tests", "benchmarks")]
    for kind, folders in {"main": ["*.py", *packages], "test": ["tests/*.py", "benchmarks/*.py"]}.items():
        for path in (p for pattern in folders for p in ROOT.glob(pattern)):
            for node in ast.walk(ast.parse(path.read_text())):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if (
                    isinstance(node, ast.ImportFrom) and node.level == 0) else []  # fmt: skip
                for top in {m.split(".")[0] for m in modules} - own - set(sys.stdlib_module_names):
                    found = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
                    allowed = names["main"] | (names["test"] if kind == "test" else set())
                    assert found & allowed, f"{path.relative_to(ROOT)} imports {top} ({found}), not in pyproject.toml"


def test_fp16_checkpoint_loads_in_float32(tiny_model_dir, tmp_path):
    half = tmp_path / "half"
    AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, dtype=torch.float16).save_pretrained(half)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(half)
    model, _ = load_model_and_tokenizer(str(half), LABEL_NAMES)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_trainer_trains_exactly_like_the_notebook_loop(sst2_dir, tiny_model_dir, tokenizer, tmp_path):
    """Same start, same batch order, dropout off: the Trainer's weights equal the notebook loop's."""
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    data = tokenize_reviews(sample.select(range(96)), tokenizer, max_length=80).remove_columns("review")
    pad_to_80 = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=80)  # the notebook's tensors
    set_seed(0)
    no_dropout = {"dropout": 0.0, "attention_dropout": 0.0, "seq_classif_dropout": 0.0}
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2, **no_dropout)
    loop_model = copy.deepcopy(model)
    start = copy.deepcopy(model.state_dict())
    epochs, steps_per_epoch = 2, 3

    # The notebook recipe's own arguments, in file order (sequential) and with a log line per step.
    _, _, args = parse_args(
        ["--output_dir", str(tmp_path / "trainer"), "--num_train_epochs", str(epochs), "--train_sampling_strategy",
         "sequential", "--logging_strategy", "steps", "--logging_steps", "1", "--eval_strategy", "no",
         "--save_strategy", "no", "--use_cpu"]
    )  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=pad_to_80)
    trainer.train()

    # The notebook's loop, as written there (with torch's AdamW for the retired transformers.AdamW).
    optimizer = torch.optim.AdamW(loop_model.parameters(), lr=NOTEBOOK["learning_rate"], eps=NOTEBOOK["eps"], weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, epochs * steps_per_epoch)
    loop_model.train()
    for _ in range(epochs):
        for batch in DataLoader(data, batch_size=NOTEBOOK["batch_size"], collate_fn=pad_to_80):
            loop_model.zero_grad()
            loss = loop_model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(loop_model.parameters(), NOTEBOOK["max_grad_norm"])
            optimizer.step()
            scheduler.step()

    assert trainer.state.global_step == epochs * steps_per_epoch
    trained, looped = model.state_dict(), loop_model.state_dict()
    assert any(not torch.equal(trained[k], start[k]) for k in start)  # training moved the weights
    for name in start:
        torch.testing.assert_close(trained[name], looped[name], rtol=1e-5, atol=1e-7, msg=name)
    logged = [e["learning_rate"] for e in trainer.state.log_history if "learning_rate" in e]
    assert logged == pytest.approx(notebook_learning_rates(epochs * steps_per_epoch), rel=1e-6)


@pytest.fixture(scope="module")
def notebook_run(tmp_path_factory, sst2_dir, tiny_model_dir):
    """The full notebook recipe (4 epochs, 2422/1038 rows) on the tiny model, run as a user runs it."""
    output_dir = tmp_path_factory.mktemp("run") / "out"
    result = run_script("--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir),
                        "--output_dir", str(output_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, result


def test_run_takes_the_notebook_steps_and_schedule(notebook_run):
    output_dir, _ = notebook_run
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == state["max_steps"] == 304
    train_logs = [e for e in state["log_history"] if "loss" in e]
    assert [e["step"] for e in train_logs] == [76, 152, 228, 304]  # 76 optimizer steps per epoch
    rates = notebook_learning_rates(304)
    assert [e["learning_rate"] for e in train_logs] == pytest.approx([rates[s - 1] for s in (76, 152, 228, 304)])
    assert [e["epoch"] for e in state["log_history"] if "eval_loss" in e] == [1, 2, 3, 4]


def test_run_writes_every_output(notebook_run):
    output_dir, result = notebook_run
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["train_samples"] == 2422 and results["eval_samples"] == 1038 and results["epoch"] == 4
    wrong = len((output_dir / "eval_misclassified.tsv").read_text().splitlines()) - 1  # less the header
    assert results["eval_accuracy"] == (1038 - wrong) / 1038

    with open(output_dir / "epoch_stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "training_loss", "validation_loss", "accuracy", "training_time", "validation_time"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["training_time"]) > 0 and float(r["validation_time"]) > 0 for r in rows)
    assert float(rows[-1]["accuracy"]) == pytest.approx(results["eval_accuracy"])
    assert float(rows[-1]["validation_loss"]) == pytest.approx(results["eval_loss"])
    table = (output_dir / "epoch_stats.md").read_text()
    assert table.startswith("| Epoch | Training loss | Validation loss | Accuracy |") and len(table.splitlines()) == 6

    assert (output_dir / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = load_file(output_dir / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float32} and "classifier.weight" in weights
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert model.config.label2id == {"negative": 0, "positive": 1}
    assert AutoTokenizer.from_pretrained(output_dir)("a fine film")["input_ids"] == [101, 1037, 2986, 2143, 102]

    assert table in result.stdout  # the table is printed at the end
    assert f"Final validation accuracy: {results['eval_accuracy']:.4f} (notebook, DistilBERT, 4 epochs: 0.881)" in result.stdout


def test_run_evaluates_the_official_dev_split_beyond_accuracy(notebook_run, sst2_dir):
    output_dir, result = notebook_run
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["dev_samples"] == 872 and results["dev_loss"] > 0
    assert {"dev_macro_f1", "dev_f1_negative", "dev_recall_positive", "eval_macro_f1"} <= set(results)
    assert all(isinstance(v, (int, float)) for v in results.values())  # the confusion matrix stays out
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert not any("confusion" in key for entry in state["log_history"] for key in entry)
    assert f"Dev (official) accuracy: {results['dev_accuracy']:.4f}" in result.stdout

    report = (output_dir / "evaluation.md").read_text()
    assert report in result.stdout
    assert f"| dev (official) | 872 | {results['dev_loss']:.4f} | {results['dev_accuracy']:.4f} |" in report
    assert f"| validation (held-out 30% of the sample) | 1038 | {results['eval_loss']:.4f} | {results['eval_accuracy']:.4f} |" in report
    assert report.index("| validation (held-out") < report.index("| dev (official)")  # the order of every report
    matrix = report.split("Confusion matrix, dev (official)")[1].splitlines()[4:6]
    counts = [[int(c) for c in row.strip("| ").split(" | ")[1:]] for row in matrix]
    assert sum(map(sum, counts)) == 872 and (counts[0][0] + counts[1][1]) / 872 == pytest.approx(results["dev_accuracy"])
    for prefix in ("eval", "dev"):
        assert (output_dir / f"{prefix}_confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    gold = dict(line.split("\t") for line in (sst2_dir / "dev.tsv").read_text().splitlines()[1:])
    with open(output_dir / "dev_misclassified.tsv") as f:
        wrong = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert len(wrong) == counts[0][1] + counts[1][0]
    assert wrong and list(wrong[0]) == ["review", "gold", "predicted", "probability"]
    assert all(gold[r["review"]] == r["gold"] != r["predicted"] and float(r["probability"]) >= 0.5 for r in wrong)
    assert [float(r["probability"]) for r in wrong] == sorted((float(r["probability"]) for r in wrong), reverse=True)


def test_finished_run_is_not_overwritten(notebook_run, sst2_dir, tiny_model_dir):
    output_dir, _ = notebook_run
    before = (output_dir / "all_results.json").read_bytes()
    result = run_script("--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir),
                        "--output_dir", str(output_dir))  # fmt: skip
    assert last_error_line(result) == (
        f"run_finetune.py: error: --output_dir {output_dir} holds a finished run; pass --overwrite_output_dir to start "
        "over (make: ARGS=--overwrite_output_dir), or choose another --output_dir"
    )
    assert (output_dir / "all_results.json").read_bytes() == before


def test_model_missing_offline_says_how_to_use_a_local_one(tmp_path, sst2_dir):
    result = run_script("--data_dir", str(sst2_dir), "--output_dir", str(tmp_path / "out"),
                        env={"HF_HOME": str(tmp_path / "empty-hf-home")})  # fmt: skip
    assert last_error_line(result) == (
        "run_finetune.py: error: --model_name_or_path distilbert-base-uncased: no such folder, not in the local Hugging "
        "Face cache, and the Hub cannot be reached; connect once to cache it, or pass a local model folder (config.json, "
        "tokenizer, model.safetensors)"
    )
    assert not (tmp_path / "out").exists()  # refused before the data loads, and before the folder is made


def test_real_pretrained_model_learns(minilm_run):
    """all-MiniLM-L6-v2 on real SST-2 (the `minilm_run` of conftest). Measured here: 0.827 (seed 42)."""
    results = json.loads((minilm_run / "all_results.json").read_text())
    assert results["eval_samples"] == 623
    assert results["eval_accuracy"] >= 0.75
    assert results["dev_samples"] == 872 and results["dev_accuracy"] >= 0.75  # the official dev split, never trained on


def test_validation_on_the_official_dev_split_trains_on_the_whole_sample(tmp_path, sst2_dir, tiny_model_dir):
    output_dir = tmp_path / "out"
    train_run(["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir), "--output_dir",
                       str(output_dir), "--sample_fraction", "0.05", "--max_length", "32", "--num_train_epochs", "1",
                       "--validation_split", "dev"])  # fmt: skip
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["train_samples"] == 346 and results["eval_samples"] == 872  # the whole 5% sample; dev.tsv
    assert not any(key.startswith("dev_") for key in results)  # dev is the validation split, evaluated once
    assert "| validation (dev, official) | 872 |" in (output_dir / "evaluation.md").read_text()
    card = ModelCard.load(output_dir / "README.md")
    (entry,) = card.data.eval_results
    assert (entry.dataset_type, entry.dataset_split, entry.metric_value) == ("stanfordnlp/sst2", "validation", round(results["eval_accuracy"], 4))
    assert "346 training rows, validated each epoch on the official dev split (872 sentences)" in card.text
    assert "Like the notebook: the reviews of SST-2's `train.tsv` (one sentence per row" in card.text  # its own file
    assert "Trained for 1 epoch (11 steps)." in card.text and "| epochs | 1 epoch (11 steps) |" in card.text


def test_a_run_cut_short_is_described_as_what_ran_and_phrases_as_phrases(tmp_path, tiny_model_dir):
    """--max_steps 3 of the phrases recipe's 2413 steps: the card, the epoch table and all_results.json say how far it
    went (a fraction of an epoch), and that the rows were phrases (the converter's record says so)."""
    data = tmp_path / "phrases"
    convert_release(SST_TREES_DIR, data, phrases=True)
    output_dir = tmp_path / "out"
    train_run(["--config", ROOT / "recipes" / "phrases.yaml", "--model_name_or_path", tiny_model_dir, "--data_dir", data,
               "--output_dir", output_dir, "--max_steps", "3", "--max_length", "32"])  # fmt: skip
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["epoch"] == pytest.approx(3 / 2413, abs=1e-4) and results["train_samples"] == 77189
    with open(output_dir / "epoch_stats.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0.0012"]
    assert (output_dir / "epoch_stats.md").read_text().splitlines()[2].startswith("| 0.0012 |")
    card = (output_dir / "README.md").read_text()
    trained = "0.001243 epochs (3 steps: --max_steps 3; 1 epoch takes 2413)"
    assert f"Trained for {trained}." in card and f"| epochs | {trained} |" in card
    assert "Every labelled phrase of SST-2's training trees" in card and "one sentence per row" not in card
    assert "77189 training rows, validated each epoch on the official dev split (872 sentences)" in card


def test_validation_on_dev_without_a_dev_file_is_refused(tmp_path, sst2_dir, tiny_model_dir):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(sst2_dir / "train.tsv", data_dir)
    with pytest.raises(ProjectError, match=f"^--validation_split dev: {data_dir} holds no dev.tsv; add it or validate on the sample$"):
        train_run(["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(data_dir), "--output_dir",
                           str(tmp_path / "out"), "--validation_split", "dev"])  # fmt: skip


@pytest.mark.parametrize("recipe", ["notebook", "fast"])
def test_glue_folder_trains_validates_on_dev_and_predicts_its_unlabelled_test_file(tmp_path, sst2_dir, tiny_model_dir, recipe):
    """GLUE's SST-2 layout: `sentence<TAB>label` (0/1) train and dev, and a test.tsv of `index<TAB>sentence`. With
    either recipe (the fast one evaluates longest rows first), every written prediction belongs to its own row."""
    glue = tmp_path / "glue"
    glue.mkdir()
    ids = {"negative": "0", "positive": "1"}
    for name in ("train.tsv", "dev.tsv"):
        rows = [line.split("\t") for line in (sst2_dir / name).read_text().splitlines()[1:]]
        (glue / name).write_text("sentence\tlabel\n" + "".join(f"{review} \t{ids[label]}\n" for review, label in rows))
    dev = [line.split("\t")[0] for line in (sst2_dir / "dev.tsv").read_text().splitlines()[1:]]
    (glue / "test.tsv").write_text("index\tsentence\n" + "".join(f"{i}\t{review} \n" for i, review in enumerate(dev[:100])))

    output_dir = tmp_path / "out"
    train_run(["--config", str(ROOT / "recipes" / f"{recipe}.yaml"), "--model_name_or_path", str(tiny_model_dir),
                       "--data_dir", str(glue), "--text_column", "sentence", "--validation_split", "dev", "--output_dir",
                       str(output_dir), "--sample_fraction", "0.05", "--max_length", "32", "--num_train_epochs", "1"])  # fmt: skip
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["eval_samples"] == 872 and not any(key.startswith("test_") for key in results)  # nothing to score
    lines = (output_dir / "test_predictions.tsv").read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 101
    assert [line.split("\t")[0] for line in lines[1:]] == [str(i) for i in range(100)]
    assert {line.split("\t")[1] for line in lines[1:]} <= {"0", "1"}
    logits, _ = Classifier(output_dir, "torch").logits([f"{review} " for review in dev[:100]])  # the saved model, row by row
    assert [line.split("\t")[1] for line in lines[1:]] == [str(i) for i in logits.argmax(-1)]
    gold = {f"{review} ": ids[label] for review, label in (line.split("\t") for line in (sst2_dir / "dev.tsv").read_text().splitlines()[1:])}
    with open(output_dir / "eval_misclassified.tsv") as f:
        wrong = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert wrong and all(LABEL_NAMES[int(gold[r["review"]])] == r["gold"] != r["predicted"] for r in wrong)
