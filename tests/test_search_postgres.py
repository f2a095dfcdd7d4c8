"""A search on a real PostgreSQL server: two workers, as on two machines (each with its own output folder), share one
study and complete exactly its trials, each once; the report is written once; the password is in no file and no
output. Needs SST2_TEST_POSTGRES_URL=postgresql://user:password@host:port/database; `.ci/run` starts a throwaway
server and sets it (by hand: `source .ci/postgres.sh && postgres_start`, then `postgres_stop`)."""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import optuna
import pytest

from .conftest import ROOT, SPACE, planned, run_flags, search_argv

URL = os.environ.get("SST2_TEST_POSTGRES_URL")
if not URL and os.environ.get("CI"):
    pytest.fail("CI runs the PostgreSQL test: .ci/run starts a server and sets SST2_TEST_POSTGRES_URL", pytrace=False)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not URL,
        reason="set SST2_TEST_POSTGRES_URL=postgresql://user:password@host:port/db (a "
        "throwaway server: source .ci/postgres.sh && postgres_start)",
    ),
]


def test_two_workers_on_two_machines_share_one_study_in_postgresql(tiny_model_dir, sst2_dir, tmp_path):
    password = re.match(r"postgresql://[^:/@]*:([^@]*)@", URL)
    assert password and password[1], "the test URL carries a password, to check that none leaks"
    name = f"test-{uuid.uuid4().hex[:12]}"  # a new study in a database that may hold older ones
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    workers = []
    for machine in ("a", "b"):
        argv = search_argv(
            tmp_path / machine,
            space,
            run_flags(tiny_model_dir, sst2_dir),
            4,
            ("5", "6"),
            "--storage",
            URL,
            "--study_name",
            name,
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "run_search.py"), *argv],
                cwd=ROOT,
                text=True,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = [worker.communicate(timeout=900) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-3000:] for _, err in outputs]

    study = optuna.load_study(study_name=name, storage=URL.replace("postgresql://", "postgresql+psycopg://"))
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 4
    assert {t.user_attrs["worker"]["pid"] for t in complete} == {w.pid for w in workers}
    folders = {p.name: machine for machine in "ab" for p in (tmp_path / machine).glob("trial-*")}
    assert sorted(folders) == sorted(f"trial-{t.number}" for t in complete)  # each trial once, on one machine
    for t in complete:
        results = tmp_path / folders[f"trial-{t.number}"] / f"trial-{t.number}" / "all_results.json"
        assert json.loads(results.read_text())["eval_accuracy"] == t.value

    reporters = [
        m for m, (out, _) in zip("ab", outputs) if f"# Hyperparameter search `{name}`: 4 complete trials" in out
    ]
    assert len(reporters) == 1  # the worker of the last trial, on its machine
    folder = tmp_path / reporters[0]
    record = json.loads((folder / "search.json").read_text())
    assert record["storage"] == URL.replace(f":{password[1]}@", ":***@")
    assert sorted(t["number"] for t in record["trials"] if t["state"] == "COMPLETE") == sorted(
        t.number for t in complete
    )
    assert record["confirmation"]["seeds"] == [5, 6] and (folder / "confirmation" / "seeds.json").is_file()

    for out, err in outputs:
        assert password[1] not in out and password[1] not in err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert password[1].encode() not in path.read_bytes(), path


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # the test asks for trials itself
def test_a_trial_without_heartbeats_is_failed_and_queued_again_one_with_them_is_not(
    tiny_model_dir, sst2_dir, tmp_path, monkeypatch
):
    """A worker on another machine is alive as long as its heartbeats arrive (here every second, 2 s of grace)."""
    from studies.search import storage as storage_module
    from studies.search.workers import Heartbeat, fail_dead_trials

    monkeypatch.setattr(storage_module, "HEARTBEAT_INTERVAL", 1)
    monkeypatch.setattr(storage_module, "HEARTBEAT_GRACE", 2)
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    argv = search_argv(
        tmp_path / "out",
        space,
        run_flags(tiny_model_dir, sst2_dir),
        2,
        ("none",),
        "--storage",
        URL,
        "--study_name",
        f"test-{uuid.uuid4().hex[:12]}",
    )
    search = planned(argv)
    storage = storage_module.open_storage(search)
    study = storage_module.open_study(search, storage)
    elsewhere = {"host": "another-machine", "pid": 1, "started": "1"}  # not this machine: only heartbeats tell
    beating, silent = study.ask(), study.ask()
    for trial in (beating, silent):
        trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True)
        trial.set_user_attr("worker", elsewhere)
    with Heartbeat(storage, study, beating):
        silent_beat = Heartbeat(storage, study, silent)
        storage.record_heartbeat(silent_beat.trial_id)  # one beat, then silence
        time.sleep(4)
        fail_dead_trials(study, storage)
        states = {t.number: t.state for t in study.get_trials()}
    assert states[beating.number] == optuna.trial.TrialState.RUNNING
    assert states[silent.number] == optuna.trial.TrialState.FAIL
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == 1
    retried = study.ask()  # the queued retry: the silent trial's configuration again
    assert retried.user_attrs == {"retry_of": silent.number, "attempt": 2}
    assert retried.suggest_float("learning_rate", 1e-4, 3e-3, log=True) == silent.params["learning_rate"]
