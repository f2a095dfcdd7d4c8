"""Reliability of a real run: killed, failed on a full disk and resumed, it ends exactly where an uninterrupted
one does; same seed, same result; every result file is whole."""

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from tqdm.auto import tqdm

from errors import Interrupted, ProjectError, exit_in_one_line
from run_folder import atomic_path, last_complete_checkpoint

from .conftest import ROOT, history_without_timings, outcome, run_finetune, short_run

EPOCHS, STEPS_PER_EPOCH = 3, 8  # 5% of train.tsv: 242 train / 104 validation rows, batch 32


def start_and_stop_at_first_checkpoint(command: list[str], output_dir, signum) -> subprocess.Popen:
    """Start `command` and send it `signum` once its first epoch's checkpoint is on disk (the Trainer writes
    trainer_state.json last: once it parses, the checkpoint is whole)."""
    first_checkpoint = output_dir / f"checkpoint-{STEPS_PER_EPOCH}" / "trainer_state.json"
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    while process.poll() is None:
        try:
            if json.loads(first_checkpoint.read_text())["global_step"] == STEPS_PER_EPOCH:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    process.send_signal(signum)
    return process


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_model_dir, sst2_dir):
    output_dir = tmp_path_factory.mktemp("uninterrupted") / "out"
    result = run_finetune(*short_run(tiny_model_dir, sst2_dir, output_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(uninterrupted, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    command = [sys.executable, str(ROOT / "run_finetune.py"), *short_run(tiny_model_dir, sst2_dir, output_dir)]
    process = start_and_stop_at_first_checkpoint(command, output_dir, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (output_dir / "all_results.json").exists()
    checkpoint = last_complete_checkpoint(output_dir)
    assert checkpoint is not None

    # Rerun on a "full disk" (files capped at 1 MiB, like ENOSPC but per process): it resumes, trains an epoch,
    # fails writing the next checkpoint, says so in one line and keeps the last good one.
    full_disk = subprocess.run(
        [sys.executable, str(ROOT / "run_finetune.py"), *short_run(tiny_model_dir, sst2_dir, output_dir)],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20)),
    )  # fmt: skip
    assert full_disk.returncode == 1
    assert "Traceback" not in full_disk.stderr  # it is in the log (stdout); stderr says what happened and what to do
    assert (
        f"run_finetune.py: error: training stopped at step {int(checkpoint.name.split('-')[1]) + STEPS_PER_EPOCH}: "
        "Error while serializing: I/O error: File too large (os error 27); "
        f"fix that and rerun the same command to resume from {checkpoint}\n"
    ) in full_disk.stderr  # the progress bar, left open, may redraw after it
    assert last_complete_checkpoint(output_dir) == checkpoint

    resumed = run_finetune(*short_run(tiny_model_dir, sst2_dir, output_dir))  # the same command again
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


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_in_one_line_and_the_rerun_resumes_to_the_same_result(
    uninterrupted, tiny_model_dir, sst2_dir, tmp_path, signum
):
    output_dir = tmp_path / "out"
    arguments = short_run(tiny_model_dir, sst2_dir, output_dir)
    process = start_and_stop_at_first_checkpoint(
        [sys.executable, str(ROOT / "run_finetune.py"), *arguments], output_dir, signum
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum  # 130 for Ctrl-C, 143 for SIGTERM, as a shell reports them
    assert "Traceback" not in stderr
    line = next(line for line in stderr.splitlines() if line.startswith("run_finetune.py: "))
    step = int(line.split(" at step ")[1].split(";")[0])
    assert step >= STEPS_PER_EPOCH
    checkpoint = last_complete_checkpoint(output_dir)
    assert line == (
        f"run_finetune.py: interrupted by {signal.Signals(signum).name} at step {step}; rerun the same command to "
        f"resume from {checkpoint}"
    )
    assert not (output_dir / "all_results.json").exists()
    resumed = run_finetune(*arguments)  # the command it names resumes to the uninterrupted run's result
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert outcome(output_dir) == outcome(uninterrupted)


@pytest.mark.parametrize(
    "stop", [Interrupted(signal.SIGTERM), ProjectError("the disk is full")], ids=["signal", "error"]
)
def test_the_one_line_starts_a_line_of_its_own_after_an_open_progress_bar(stop, capsys):
    """A stop mid-epoch leaves the Trainer's progress bar open (no newline after its last redraw): the line must
    not be glued to it."""

    def main():
        bar = tqdm(range(76), desc="Training", mininterval=0)  # left open, as training leaves it when a signal arrives
        bar.update(12)
        raise stop

    with pytest.raises(SystemExit) as exited:
        exit_in_one_line(main, "run_finetune.py")
    stderr = capsys.readouterr().err
    if isinstance(stop, Interrupted):
        assert exited.value.code == 143
        assert stderr.splitlines()[-1] == "run_finetune.py: interrupted by SIGTERM"
    else:  # sys.exit prints its message after this; the bar's line has ended
        assert exited.value.code == "run_finetune.py: error: the disk is full"
        assert "12/76" in stderr and stderr.endswith("\n")


@pytest.mark.slow  # two more runs beside the module's: the second longest test of make test-fast
def test_same_seed_same_result_other_seed_other_result(uninterrupted, tiny_model_dir, sst2_dir, tmp_path):
    for seed in (42, 7):
        result = run_finetune(*short_run(tiny_model_dir, sst2_dir, tmp_path / str(seed), seed=seed))
        assert result.returncode == 0, result.stderr[-3000:]
    assert outcome(tmp_path / "42") == outcome(uninterrupted)
    assert history_without_timings(tmp_path / "42") == history_without_timings(uninterrupted)
    (metrics, weights), (other_metrics, other_weights) = outcome(uninterrupted), outcome(tmp_path / "7")
    assert weights != other_weights
    assert metrics["eval_loss"] != other_metrics["eval_loss"] and metrics["train_loss"] != other_metrics["train_loss"]


def test_cut_off_write_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "all_results.json"
    path.write_text('{"eval_accuracy": 0.5}')
    with pytest.raises(KeyboardInterrupt), atomic_path(path) as tmp:
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
