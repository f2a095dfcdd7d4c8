"""`accelerate launch` on 2 CPU processes (gloo), tracked with TensorBoard and published as a dry run,
with a fake Hub token planted in the environment: one realistic scale-out run, checked from every side."""

import json
import os
import subprocess
import sys

import huggingface_hub
import numpy as np
import pytest
import torch
from accelerate.commands.config.config_args import load_config_from_file
from huggingface_hub import ModelCard
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
    set_seed,
)

from errors import ProjectError
from sst_data import LABEL_NAMES, notebook_sample, notebook_split, tokenize_reviews
from training import load_model_and_tokenizer, parse_args

from .conftest import ROOT, fingerprints, free_port, load_folder

FAKE_TOKEN = "hf_PlantedFakeToken0123456789abcdefXYZ"
REPO_ID = "someone/sst2-tiny-ddp"

pytestmark = pytest.mark.slow  # several processes, or benchmark commands: make test-fast skips them


@pytest.mark.parametrize(
    "name, distributed_type, processes, machines",
    [("single_gpu", "NO", 1, 1), ("multi_gpu", "MULTI_GPU", 2, 1), ("multi_node", "MULTI_GPU", 16, 2),
     ("cpu_2proc", "MULTI_GPU", 2, 1)],
)  # fmt: skip
def test_accelerate_configs_load(name, distributed_type, processes, machines):
    """accelerate's own loader refuses unknown keys; cpu_2proc reaches the CPU through torchrun (see the file)."""
    config = load_config_from_file(str(ROOT / "recipes" / "accelerate" / f"{name}.yaml"))
    assert (config.distributed_type, config.num_processes, config.num_machines) == (distributed_type, processes, machines)
    assert config.use_cpu == (name == "cpu_2proc")


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, sst2_dir, tiny_model_dir):
    """One epoch on 2 processes with the notebook's global batch of 32 (16 per process)."""
    output_dir = tmp_path_factory.mktemp("ddp") / "out"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ROOT / "recipes" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port", str(free_port()),
        str(ROOT / "run_finetune.py"), "--use_cpu",
        "--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir), "--output_dir", str(output_dir),
        "--num_train_epochs", "1", "--per_device_train_batch_size", "16",
        "--report_to", "tensorboard", "--push_to_hub_dry_run", "--hub_model_id", REPO_ID,
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_TOKEN": FAKE_TOKEN, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, result


def test_two_processes_keep_the_global_batch_of_32(ddp_run):
    output_dir, _ = ddp_run
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == 76  # 2422 rows / (16 x 2 processes): the notebook's 76 steps per epoch
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["train_samples"] == 2422
    assert results["train_loss"] < 0.75  # ~ln 2 for an untrained model; a loss scaled by the 2 processes reads 1.39


def test_evaluation_scores_every_validation_row_once(ddp_run, sst2_dir, tiny_model_dir, tmp_path):
    """1038 rows in batches of 32 on 2 processes leave a ragged last batch that accelerate pads with repeated rows;
    the metrics must count each row once: same count, accuracy and loss as one process evaluating the saved model."""
    output_dir, _ = ddp_run
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["eval_samples"] == 1038

    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    validation = notebook_split(sample, 0.3, seed=42)["validation"]
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    rows = tokenize_reviews(validation, tokenizer, max_length=80).remove_columns("review").to_list()
    collate = DataCollatorWithPadding(tokenizer)
    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        logits = torch.cat([model(**collate(rows[i : i + 64])).logits for i in range(0, len(rows), 64)])
    labels = torch.tensor(validation["label"])
    assert results["eval_accuracy"] == float(np.mean(logits.argmax(-1).numpy() == labels.numpy()))
    assert results["eval_loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), rel=1e-4)


def test_only_the_main_process_writes_and_reports(ddp_run):
    output_dir, result = ddp_run
    assert result.stdout.count("Final validation accuracy:") == 1
    assert result.stdout.count("Dry run:") == 1
    evaluation = [  # the final evaluation of the validation split and the official dev split
        "dev_confusion_matrix.png", "dev_misclassified.tsv", "dev_results.json", "eval_confusion_matrix.png",
        "eval_misclassified.tsv", "evaluation.md",
    ]  # fmt: skip
    assert sorted(p.name for p in output_dir.iterdir()) == sorted([
        "README.md", "all_results.json", "checkpoint-76", "config.json", "epoch_stats.csv", "epoch_stats.md",
        "eval_results.json", "model.safetensors", "model_card.json", "run_settings.json", "runs", "tokenizer.json",
        "tokenizer_config.json", "train_results.json", "trainer_state.json", "training_args.bin", "training_curves.png",
        *evaluation,
    ])  # fmt: skip
    assert len(list((output_dir / "runs").rglob("events.out.tfevents.*"))) == 1  # TensorBoard: one writer
    newest = max(output_dir.rglob("*"), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == "all_results.json"  # the marker of a finished run is written last


def test_dry_run_lists_the_upload_and_the_card_tells_the_truth(ddp_run, tiny_model_dir):
    output_dir, result = ddp_run
    listed = result.stdout.split(f"Upload for {REPO_ID}, from {output_dir}/:\n")[1].split("\nDry run:")[0].splitlines()
    files = [line.split()[-1] for line in listed]
    assert [f for f in files if not f.startswith("runs/")] == sorted([
        "README.md", "all_results.json", "config.json", "epoch_stats.csv", "epoch_stats.md", "eval_results.json",
        "model.safetensors", "run_settings.json", "tokenizer.json", "tokenizer_config.json", "train_results.json",
        "trainer_state.json", "training_curves.png", "dev_confusion_matrix.png", "dev_misclassified.tsv",
        "dev_results.json", "eval_confusion_matrix.png", "eval_misclassified.tsv", "evaluation.md",
    ])  # fmt: skip
    assert any(f.startswith("runs/") for f in files)  # the TensorBoard logs go up too
    assert f"Dry run: {len(files)} files listed, nothing uploaded." in result.stdout
    assert not (output_dir / "hub_upload").exists()  # listed in place, nothing copied

    results = json.loads((output_dir / "all_results.json").read_text())
    card = ModelCard.load(output_dir / "README.md")
    assert card.data.license == "unknown"  # the tiny base model's folder has no card to take a license from
    assert card.data.base_model is None and card.data.pipeline_tag == "text-classification"
    by_dataset = {(r.dataset_type, r.dataset_split): r for r in card.data.eval_results}
    # The official dev set is what the Hub's stanfordnlp/sst2 calls `validation`; the notebook's carve-out is its own.
    assert list(by_dataset) == [("sst2-notebook-holdout", "validation"), ("stanfordnlp/sst2", "validation")]
    assert by_dataset["sst2-notebook-holdout", "validation"].metric_value == round(results["eval_accuracy"], 4)
    assert by_dataset["stanfordnlp/sst2", "validation"].metric_value == round(results["dev_accuracy"], 4)
    assert card.data.model_name == "sst2-tiny-ddp"
    text = card.text
    assert f"| validation (held-out 30% of the sample) | 1038 | {results['eval_accuracy']:.4f} |" in text
    assert text.index("| validation (held-out 30%") < text.index("| dev (official) | 872 |")  # the reports' order
    assert "| *the notebook (DistilBERT, 4 epochs), validation* | | *0.881* |" in text
    assert (output_dir / "epoch_stats.md").read_text() in text
    assert "| batch size | 32 (16 per device x 2 device(s) x 1 accumulation step(s)) |" in text
    assert "| devices | 2 x cpu |" in text and "| transformers | 5." in text
    assert "accelerate launch --multi_gpu --num_processes 2 run_finetune.py --config recipes/notebook.yaml --model_name_or_path" in text
    assert "--use_cpu true" in text and "--per_device_train_batch_size 16" in text
    assert str(tiny_model_dir) not in text  # a local base model: its folder's name, never the machine's path
    assert f"--model_name_or_path {tiny_model_dir.name} " in text
    assert f'model="{REPO_ID}"' in text


def test_planted_token_appears_in_no_output(ddp_run):
    output_dir, result = ddp_run
    assert FAKE_TOKEN not in result.stdout + result.stderr
    leaks = [p for p in output_dir.rglob("*") if p.is_file() and FAKE_TOKEN.encode() in p.read_bytes()]
    assert leaks == []


@pytest.mark.parametrize(
    "env, message",
    [
        ({"HF_TOKEN": None}, f"cannot push to {REPO_ID}: no Hugging Face token"),
        ({"HF_TOKEN": FAKE_TOKEN, "HF_HUB_OFFLINE": "1"}, f"push to {REPO_ID} failed: Cannot reach https://"),
        ({"HF_TOKEN": FAKE_TOKEN, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"},
         f"push to {REPO_ID} failed: [Errno 111] Connection refused"),
    ],
    ids=["no-token", "offline-mode", "no-network"],
)
def test_failed_push_says_why_in_one_line_and_keeps_the_run(ddp_run, tmp_path, env, message):
    """`make push` of the finished run (push_to_hub.py), without a token or without the Hub."""
    output_dir, _ = ddp_run
    before = fingerprints(output_dir)
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None} | {"HF_HOME": str(tmp_path / "no-login")}
    result = subprocess.run([sys.executable, str(ROOT / "push_to_hub.py"), "--output_dir", str(output_dir),
                             "--hub_model_id", REPO_ID], capture_output=True, text=True, cwd=ROOT, env=env)  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and FAKE_TOKEN not in result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"push_to_hub.py: error: {message}"), line
    assert f"The run in {output_dir} is unchanged" in line
    assert fingerprints(output_dir) == before


def test_hub_token_argument_and_tokenless_push_are_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))
    for flags, expected in [
        (["--hub_token", FAKE_TOKEN], "--hub_token would be saved with the run's arguments; set HF_TOKEN or run"),
        (["--push_to_hub", "--hub_model_id", REPO_ID], "--push_to_hub: no Hugging Face token; set HF_TOKEN or run"),
    ]:
        with pytest.raises(ProjectError) as err:
            parse_args(flags)
        assert str(err.value).startswith(expected) and FAKE_TOKEN not in str(err.value)


def test_gradient_accumulation_trains_like_the_full_batch(sst2_dir, tiny_model_dir, tokenizer, tmp_path):
    """Per-device 16 x 2 accumulation steps = batch 32, the way to keep the notebook's batch on a smaller
    device: same logged losses and weights (dropout off), as the loss is not scaled by the accumulation steps."""
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    data = tokenize_reviews(sample.select(range(96)), tokenizer, max_length=80).remove_columns("review")

    def train(batch_size, accumulation):
        set_seed(0)
        model, _ = load_model_and_tokenizer(str(tiny_model_dir), LABEL_NAMES, dropout=0.0)
        args = TrainingArguments(
            output_dir=str(tmp_path / f"bs{batch_size}"), learning_rate=2e-5, max_grad_norm=1.0, num_train_epochs=1,
            per_device_train_batch_size=batch_size, gradient_accumulation_steps=accumulation,
            train_sampling_strategy="sequential", logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
        )  # fmt: skip
        trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer, padding="max_length", max_length=80))
        trainer.train()
        return [e["loss"] for e in trainer.state.log_history if "loss" in e], model.state_dict()

    (full_losses, full), (accumulated_losses, accumulated) = train(32, 1), train(16, 2)
    assert len(full_losses) == 3 and accumulated_losses == pytest.approx(full_losses, rel=1e-5)
    for name in full:
        torch.testing.assert_close(accumulated[name], full[name], rtol=1e-5, atol=1e-7, msg=name)


def test_tracking_is_chosen_in_the_recipe_or_on_the_command_line(tmp_path):
    recipe = tmp_path / "tracked.yaml"
    recipe.write_text((ROOT / "recipes" / "notebook.yaml").read_text().replace("report_to: none", "report_to: tensorboard"))
    assert parse_args(["--config", str(recipe)]).training.report_to == ["tensorboard"]
    assert parse_args(["--report_to", "tensorboard"]).training.report_to == ["tensorboard"]
    assert parse_args([]).training.report_to == []  # the notebook recipe: none
