"""A search from start to report: join (or start) the study, run trials until it holds TRIALS complete ones, then,
in the one worker whose turn it is, confirm the winner over SEEDS and write the report."""

import contextlib
import fcntl
import json
import logging
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from errors import Interrupted, ProjectError, stop_on_signals

from ..seeds import plan_study, run_study
from .plan import Search
from .report import SEARCH_FILES, best_of, trial_records, write_search_report
from .storage import describe_storage, open_storage, open_study
from .trials import counts, work
from .workers import alive, describe_worker

logger = logging.getLogger(__package__)
REPORT_LOCK = ".search-report.lock"


def writes_the_report(study: optuna.Study, done: list[int]) -> bool:
    """The worker that ran the highest-numbered complete trial writes the report; a worker that ran none in this call
    (started after the last trial) does too, and so does anyone once that trial's worker is gone from this machine."""
    last = max(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    if not done or last.number in done:
        return True
    worker = last.user_attrs.get("worker")
    if worker and not alive(worker):
        return True
    logger.info("All trials complete; trial %d's worker (%s) writes the report", last.number, describe_worker(worker))
    return False


@contextlib.contextmanager
def report_lock(output_dir: Path):
    """One report writer at a time in a folder (the kernel releases the lock of a worker that dies)."""
    output_dir.mkdir(parents=True, exist_ok=True)  # a worker that ran no trial here: nothing made it yet
    with open(output_dir / REPORT_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def confirm(search: Search, params: dict, number: int) -> dict:
    """The winner's configuration trained once per seed (a seed study, --vary all) in OUTPUT_DIR/confirmation/."""
    folder = search.output_dir / "confirmation"
    try:
        studies = plan_study(search.plan.replace(**params), search.seeds, "all", folder)
    except ProjectError as err:
        raise ProjectError(
            f"{folder} holds the confirmation of another configuration, an earlier winner ({err}); move "
            f"it away (e.g. to {folder.name}-old) and rerun the same command to confirm trial {number}"
        ) from None
    logger.info(
        "Confirming trial %d's configuration over seeds %s in %s", number, " ".join(map(str, search.seeds)), folder
    )
    try:
        return run_study(studies, folder)["all"]
    except Interrupted as stop:
        stop.resume = "rerun the same command to go on: the trials are complete, the confirmation resumes"
        raise


def write_report(study: optuna.Study, search: Search) -> tuple[dict, bool]:
    """The confirmation, then the report files: the record of search.json, and True. Skipped (the record and False)
    when the folder's search.json already reports these very trials and seeds."""
    with report_lock(search.output_dir):
        trials = trial_records(study, search.output_dir)
        existing = search.output_dir / "search.json"
        if existing.exists():
            try:
                record = json.loads(existing.read_text(encoding="utf-8"))
                seeds = (record["confirmation"] or {}).get("seeds")
                if [t["number"] for t in record["trials"]] == [t["number"] for t in trials] and seeds == search.seeds:
                    logger.info("The report in %s is up to date", search.output_dir)
                    return record, False
            except (ValueError, KeyError, TypeError):
                pass
        for name in SEARCH_FILES:  # a report is only ever of the trials it lists
            (search.output_dir / name).unlink(missing_ok=True)
        best = best_of(trials)
        confirmation = confirm(search, best["params"], best["number"]) if search.seeds else None
        return write_search_report(search, study, trials, confirmation), True


def run_search(search: Search) -> dict | None:
    """Join (or start) the study, run trials until it holds `search.trials` complete ones, and write the report if
    this worker is the one to; its record, or None when another worker writes it (or wrote it meanwhile). A command
    that ran no trial (started after the search ended) gets the record whoever wrote it."""
    storage = open_storage(search)  # held here: the workers' heartbeats and liveness checks go through it
    study = open_study(search, storage)
    logger.info(
        "Study '%s' in %s: %d of %d trials complete",
        search.study_name,
        describe_storage(search),
        counts(study.get_trials(deepcopy=False))[TrialState.COMPLETE],
        search.trials,
    )
    started = time.perf_counter()
    with stop_on_signals():
        done = work(study, storage, search)
        logger.info(
            "This worker completed %d trial%s in %.0f s",
            len(done),
            "s" * (len(done) != 1),
            time.perf_counter() - started,
        )
        if not writes_the_report(study, done):
            return None
        record, written = write_report(study, search)
        return record if written or not done else None
