"""Reliability of a real run: killed, failed on a full disk and resumed, it ends exactly where an uninterrupted
one does; same seed, same result; every result file is whole."""

import csv
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from training_report import last_complete_checkpoint
from training_report.files import atomic_path

from .conftest import ROOT, run_finetune

EPOCHS, STEPS_PER_EPOCH = 3, 8  # 5% of train.tsv: 242 train / 104 validation rows, batch 32
TIMINGS = ("runtime", "per_second")  # wall-clock metrics, the only ones allowed to differ


def recipe(model_dir, data_dir, output_dir, seed=42) -> list[str]:
    return ["--model_name_or_path", str(model_dir), "--data_dir", str(data_dir), "--output_dir", str(output_dir),
            "--sample_fraction", "0.05", "--max_length", "32", "--num_train_epochs", str(EPOCHS),
            "--learning_rate", "1e-3", "--seed", str(seed)]  # fmt: skip


def outcome(output_dir) -> tuple[dict, str]:
    """Every metric of all_results.json that is not a timing, and the final weights' sha256."""
    results = json.loads((output_dir / "all_results.json").read_text())
    metrics = {k: v for k, v in results.items() if not any(t in k for t in TIMINGS)}
    return metrics, hashlib.sha256((output_dir / "model.safetensors").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_model_dir, sst2_dir):
    output_dir = tmp_path_factory.mktemp("uninterrupted") / "out"
    result = run_finetune(*recipe(tiny_model_dir, sst2_dir, output_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


def test_killed_run_resumes_to_the_same_result(uninterrupted, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    first_checkpoint = output_dir / f"checkpoint-{STEPS_PER_EPOCH}" / "trainer_state.json"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run_finetune.py"), *recipe(tiny_model_dir, sst2_dir, output_dir)],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # The Trainer writes trainer_state.json last: once it parses, the first epoch's checkpoint is on disk.
        while process.poll() is None:
            try:
                if json.loads(first_checkpoint.read_text())["global_step"] == STEPS_PER_EPOCH:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        assert process.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (output_dir / "all_results.json").exists()
    checkpoint = last_complete_checkpoint(output_dir)
    assert checkpoint is not None

    # Rerun on a "full disk" (files capped at 1 MiB, like ENOSPC but per process): it resumes, trains an epoch,
    # fails writing the next checkpoint, says so in one line and keeps the last good one.
    full_disk = subprocess.run(
        [sys.executable, str(ROOT / "run_finetune.py"), *recipe(tiny_model_dir, sst2_dir, output_dir)],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20)),
    )  # fmt: skip
    assert full_disk.returncode == 1
    assert "Traceback" not in full_disk.stderr  # it is in the log (stdout); stderr says what happened and what to do
    assert (
        f"run_finetune.py: error: training stopped at step {int(checkpoint.name.split('-')[1]) + STEPS_PER_EPOCH}: "
        "Error while serializing: I/O error: File too large (os error 27); "
        f"fix that and rerun the same command: it resumes from {checkpoint}"
    ) in full_disk.stderr.splitlines()  # the progress bar, left open, may redraw after it
    assert last_complete_checkpoint(output_dir) == checkpoint

    resumed = run_finetune(*recipe(tiny_model_dir, sst2_dir, output_dir))  # the same command again
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming the unfinished run from {output_dir}/checkpoint-" in resumed.stdout

    (metrics, weights), (expected_metrics, expected_weights) = outcome(output_dir), outcome(uninterrupted)
    assert metrics == expected_metrics  # exactly: train_loss, eval_loss, eval_accuracy, total_flos, epoch, samples
    assert set(metrics) >= {"train_loss", "eval_loss", "eval_accuracy", "total_flos", "epoch"}
    assert weights == expected_weights

    # Every logged loss, learning rate, grad norm and validation result, step by step (the schedule included).
    history, expected_history = (history_without_timings(d) for d in (output_dir, uninterrupted))
    assert [e["step"] for e in history if "loss" in e] == [STEPS_PER_EPOCH * (e + 1) for e in range(EPOCHS)]
    assert history[:-1] == expected_history[:-1]  # the last: train() summary of the resumed call only, not the run

    with open(output_dir / "epoch_stats.csv") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(1, EPOCHS + 1))


def history_without_timings(output_dir) -> list[dict]:
    log_history = json.loads((output_dir / "trainer_state.json").read_text())["log_history"]
    return [{k: v for k, v in e.items() if not any(t in k for t in TIMINGS)} for e in log_history]


def test_same_seed_same_result_other_seed_other_result(uninterrupted, tiny_model_dir, sst2_dir, tmp_path):
    for seed in (42, 7):
        result = run_finetune(*recipe(tiny_model_dir, sst2_dir, tmp_path / str(seed), seed=seed))
        assert result.returncode == 0, result.stderr[-3000:]
    assert outcome(tmp_path / "42") == outcome(uninterrupted)
    assert history_without_timings(tmp_path / "42") == history_without_timings(uninterrupted)
    (metrics, weights), (other_metrics, other_weights) = outcome(uninterrupted), outcome(tmp_path / "7")
    assert weights != other_weights
    assert metrics["eval_loss"] != other_metrics["eval_loss"] and metrics["train_loss"] != other_metrics["train_loss"]


def test_cut_off_write_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "all_results.json"
    path.write_text('{"eval_accuracy": 0.5}')
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text('{"eval_acc')
            raise KeyboardInterrupt  # cut off mid-write
    assert path.read_text() == '{"eval_accuracy": 0.5}'
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_checkpoint_cut_off_while_saving_is_skipped(tmp_path):
    """The Trainer writes trainer_state.json last: a checkpoint without it, or with a truncated one, is unfinished."""
    for step, state in ((8, '{"global_step": 8}'), (16, '{"global_st'), (24, None)):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if state is not None:
            (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-8"
