"""A search's workers: who is alive, and what happens to a trial whose worker is not (marked failed, its
configuration queued again), and a running trial's heartbeat in a database."""

import logging
import os
import socket
import threading
import warnings
from datetime import datetime
from pathlib import Path

import optuna
from optuna.trial import TrialState

logger = logging.getLogger(__package__)
ORPHAN_AFTER = 120  # a journal trial running this long without naming its worker lost it between two calls
MAX_ATTEMPTS = 3  # a configuration whose run failed this often is dropped, not queued again


def process_start(pid: int) -> str | None:
    """When process `pid` started (Linux: /proc), None when it is gone or a zombie; "" where /proc is missing."""
    if not Path("/proc/self/stat").exists():
        return ""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in "ZX" else fields[19]


def this_worker() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": process_start(os.getpid())}


def alive(worker: dict) -> bool:
    """Whether the worker that recorded `worker` still runs; a worker on another machine counts as alive (there, the
    database's heartbeat tells)."""
    if worker.get("host") != socket.gethostname():
        return True
    started = process_start(worker["pid"])
    if started == "":  # no /proc: the process id alone
        try:
            os.kill(worker["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return started is not None and started == worker.get("started")


def retry(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Queue a failed trial's configuration again, unless it failed MAX_ATTEMPTS times (also the database's
    heartbeat callback).

    Not Optuna's `RetryHeartbeatStaleTrialCallback` (formerly `RetryFailedTrialCallback`): it copies the failed
    trial's user attributes into the retry, so the retry would carry the dead worker that ran its predecessor (and be
    failed again by the first liveness check before its own worker names itself) and its predecessor's failure; and
    its `retried_trial_number` names the first trial of a chain, where the run to move on is the last one's
    (`retry_of`). The retry here carries only which trial it retries and its attempt (pinned by
    tests/test_search_workers.py::test_a_queued_retry_is_not_judged_by_the_worker_of_the_trial_it_retries)."""
    attempt = trial.user_attrs.get("attempt", 1)
    if attempt >= MAX_ATTEMPTS:
        logger.warning(
            "Trial %d failed, attempt %d of its configuration: dropped, not queued again", trial.number, attempt
        )
        return
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number, "attempt": attempt + 1})
    logger.info("Trial %d failed: its configuration is queued again (attempt %d)", trial.number, attempt + 1)


def beats(storage: optuna.storages.BaseStorage) -> bool:
    """Whether the study's storage keeps heartbeats (an RDBStorage with a heartbeat interval; not a journal)."""
    interval = getattr(storage, "get_heartbeat_interval", None)
    return callable(interval) and interval() is not None


def fail_dead_trials(study: optuna.Study, storage: optuna.storages.BaseStorage) -> None:
    """Mark failed, and queue again, each running trial whose worker is gone: at once on this machine, after the
    heartbeat's grace period on another (databases only). `storage`: the study's, as opened."""
    if beats(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    journal = isinstance(storage, optuna.storages.JournalStorage)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        if worker is None:
            lost = journal and (datetime.now() - trial.datetime_start).total_seconds() > ORPHAN_AFTER
        else:
            lost = not alive(worker)
        if not lost:
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError):  # another worker failed it first: it queues the retry
            continue
        logger.warning("Trial %d: its worker (%s) is gone; marked failed", trial.number, describe_worker(worker))
        retry(study, trial)


def describe_worker(worker: dict | None) -> str:
    return f"{worker['host']}, process {worker['pid']}" if worker else "never named"


class Heartbeat:
    """A running trial's heartbeat in a database (RDBStorage.record_heartbeat), at the storage's interval, as
    Optuna's own thread records it for the trials `study.optimize` runs (the search runs its trials with ask and tell,
    so that a failed trial's configuration is queued again). `storage`: the study's, as opened."""

    def __init__(self, storage: optuna.storages.BaseStorage, study: optuna.Study, trial: optuna.Trial):
        self.storage = storage
        study_id = storage.get_study_id_from_name(study.study_name)
        self.trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True)

    def beat(self) -> None:
        while True:
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception as err:  # a lost connection: the next beat tries again  # noqa: BLE001
                logger.warning("Heartbeat not recorded (%s)", " ".join(str(err).split())[:200])
            if self.stop.wait(self.storage.get_heartbeat_interval()):
                return

    def __enter__(self):
        if beats(self.storage):
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
