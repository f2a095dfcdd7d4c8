"""A search's workers (studies/search/workers.py, trials.py, storage.py): a password never leaves the storage URL; a
retry queued for a dead worker's trial is not judged by that worker; two workers share one study and complete exactly
the trials; a worker killed mid-trial, its trial failed and its retry resuming the run from its checkpoint."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import optuna
import pytest

from studies.search import masked
from studies.search.workers import fail_dead_trials

from .conftest import ROOT, outcome, run_flags, run_search_cli, search_argv, train_run


def test_a_password_never_leaves_the_url():
    assert masked("postgresql://sst2:s3cr%40t@db.example:5432/search") == "postgresql://sst2:***@db.example:5432/search"
    assert masked("postgresql://sst2@db:5432/search") == "postgresql://sst2@db:5432/search"
    assert masked("sqlite:///search.db") == "sqlite:///search.db"


def test_a_queued_retry_is_not_judged_by_the_worker_of_the_trial_it_retries(tmp_path):
    """Why the search queues retries itself (studies/search/workers.py, `retry`): a trial whose worker died is failed
    and its configuration queued again; the retry, asked by a live worker that has not named itself yet, keeps running
    (Optuna's RetryHeartbeatStaleTrialCallback copies the failed trial's user attributes, the dead worker with them,
    and the next liveness check would fail the retry too) and names the trial it retries and its attempt."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.journal")))
    study = optuna.create_study(storage=storage)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    first = study.ask()
    first.suggest_float("learning_rate", 1e-4, 3e-3, log=True)
    first.set_user_attr("worker", {"host": socket.gethostname(), "pid": int(ended.stdout), "started": "0"})
    first.set_user_attr("run", "trial-0")
    fail_dead_trials(study, storage)
    retried = study.ask()
    fail_dead_trials(study, storage)
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {first.number: optuna.trial.TrialState.FAIL, retried.number: optuna.trial.TrialState.RUNNING}
    assert retried.user_attrs == {"retry_of": first.number, "attempt": 2}
    assert retried.suggest_float("learning_rate", 1e-4, 3e-3, log=True) == first.params["learning_rate"]


@pytest.mark.slow
def test_two_workers_share_one_study_and_complete_exactly_the_trials(space_file, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    argv = search_argv(output_dir, space_file, run_flags(tiny_model_dir, sst2_dir), 5, ("none",))
    command = [sys.executable, str(ROOT / "run_search.py"), *argv]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err[-3000:] for _, err in outputs]
    study = optuna.load_study(
        study_name="out",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(output_dir / "search.journal"))
        ),
    )
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 5
    assert {t.user_attrs["worker"]["pid"] for t in complete} == {w.pid for w in workers}  # both worked
    folders = sorted(p.name for p in output_dir.glob("trial-*"))
    assert folders == sorted(f"trial-{t.number}" for t in complete)  # each trial once, in its own folder
    for t in complete:
        assert (
            json.loads((output_dir / f"trial-{t.number}" / "all_results.json").read_text())["eval_accuracy"] == t.value
        )
    reported = [out for out, _ in outputs if "# Hyperparameter search `out`: 5 complete trials" in out]
    assert len(reported) == 1  # one report, by the worker of the last trial; the other says so
    assert sum("the report is written into" in out for out, _ in outputs) == 1
    record = json.loads((output_dir / "search.json").read_text())
    assert sorted(t["number"] for t in record["trials"] if t["state"] == "COMPLETE") == sorted(
        t.number for t in complete
    )


@pytest.mark.slow
def test_a_killed_workers_trial_fails_and_its_retry_resumes_the_run(space_file, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    flags = run_flags(tiny_model_dir, sst2_dir, "--learning_rate", "1e-3", epochs=2, save="epoch")
    space = tmp_path / "space.yaml"
    space.write_text(
        "per_device_train_batch_size: {type: categorical, choices: [32]}\nweight_decay: {type: float, low: 0.0, high: 0.1}\n"
    )
    argv = search_argv(output_dir, space, flags, 2, ("none",))
    command = [sys.executable, str(ROOT / "run_search.py"), *argv]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = output_dir / "trial-0" / "checkpoint-8" / "trainer_state.json"
    deadline = time.time() + 300
    while not checkpoint.exists():
        assert worker.poll() is None and time.time() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert not (output_dir / "trial-0" / "all_results.json").exists()

    result = run_search_cli(*argv)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Trial 0: its worker (" in result.stdout and f"process {worker.pid}) is gone; marked failed" in result.stdout
    assert f"Resuming the unfinished run from {output_dir}/trial-1/checkpoint-8" in result.stdout
    record = json.loads((output_dir / "search.json").read_text())
    states = [(t["number"], t["state"], t["run"]) for t in record["trials"]]
    assert states == [(0, "FAIL", None), (1, "COMPLETE", "trial-1"), (2, "COMPLETE", "trial-2")]
    assert record["trials"][0]["params"] == record["trials"][1]["params"]
    assert "retried as trial 1" in record["trials"][0]["note"] and record["trials"][1]["note"] == "retry of trial 0"
    assert len(record["expected_best"]["n"]) == 2  # the failed trial does not count
    assert not (output_dir / "trial-0").exists()
    # the resumed run ends as the same run uninterrupted
    params = record["trials"][1]["params"]
    alone = tmp_path / "alone"
    train_run(flags + ["--output_dir", str(alone), "--weight_decay", str(params["weight_decay"])])
    assert outcome(output_dir / "trial-1")[1] == outcome(alone)[1]
    resumed, uninterrupted = outcome(output_dir / "trial-1")[0], outcome(alone)[0]
    assert {k: v for k, v in resumed.items() if not k.startswith(("dev_", "test_"))} == {
        k: v for k, v in uninterrupted.items() if not k.startswith(("dev_", "test_"))
    }
