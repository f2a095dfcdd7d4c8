"""A search's trials: a worker asks the study for a trial, draws its flags, trains it as an ordinary run in
OUTPUT_DIR/trial-<number>/ (a retry first takes over the folder of the trial it retries, and resumes that run), and
tells the study its score.

Exactly TRIALS complete trials, however many workers: a worker asks only while fewer than TRIALS trials are
complete, running or queued, and after asking runs its trial only if fewer than TRIALS trials with a smaller number
are (two workers asking at once: the later number stands down). Not Optuna's `MaxTrialsCallback`: it stops
`study.optimize` once TRIALS trials are complete, after the fact, so every worker still running a trial then adds
one more (tests/test_search_workers.py::test_two_workers_share_one_study_and_complete_exactly_the_trials pins
exactly TRIALS). Not `study.optimize` at all: a trial that fails must queue its configuration again and its retry must go on with the
failed run's folder (`take_over`), which ask and tell allow (tests/test_search_workers.py::
test_a_killed_workers_trial_fails_and_its_retry_resumes_the_run pins it)."""

import json
import logging
import time
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from errors import Interrupted, ProjectError
from run_folder import FINISHED_MARKER
from training import train

from .plan import Search
from .storage import HEARTBEAT_GRACE, sampler
from .workers import Heartbeat, fail_dead_trials, retry, this_worker

logger = logging.getLogger(__package__)
POLL = 2.0  # seconds a worker waits between looks at a study whose last trials run elsewhere


def counts(trials) -> dict[TrialState, int]:
    found = {state: 0 for state in TrialState}
    for trial in trials:
        found[trial.state] += 1
    return found


CLAIMED = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)


def claimed_before(trials, number: int) -> int:
    """Trials numbered below `number` that are complete, running or queued: each of them will count or be replaced."""
    return sum(1 for t in trials if t.number < number and t.state in CLAIMED)


def may_ask(trials, target: int) -> bool:
    """Whether asking for a trial now may give one to run: fewer than `target` claimed, or a queued trial (the first
    that ask() takes) that itself has fewer than `target` before it."""
    found = counts(trials)
    if found[TrialState.COMPLETE] + found[TrialState.RUNNING] + found[TrialState.WAITING] < target:
        return True
    waiting = [t.number for t in trials if t.state == TrialState.WAITING]
    return bool(waiting) and claimed_before(trials, min(waiting)) < target


def suggest(trial: optuna.Trial, flag: str, distribution) -> object:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(flag, distribution.choices)
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return trial.suggest_int(
            flag, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    return trial.suggest_float(flag, distribution.low, distribution.high, step=distribution.step, log=distribution.log)


def take_over(search: Search, trial: optuna.Trial, folder: Path) -> None:
    """A queued retry of trial N continues N's run: its folder becomes this trial's, and the run resumes there."""
    failed = trial.user_attrs.get("retry_of")
    if failed is None:
        return
    previous = search.output_dir / f"trial-{failed}"
    if previous.is_dir() and not folder.exists():
        previous.rename(folder)
        logger.info(
            "Trial %d retries trial %d: its run moved to %s and goes on from there", trial.number, failed, folder
        )


def run_trial(study: optuna.Study, storage: optuna.storages.BaseStorage, search: Search, trial: optuna.Trial) -> float:
    """Train the trial (or take the result of a run of it that finished), and tell the study; a failure or a stop
    marks it failed and queues its configuration again before it goes up."""
    folder = search.output_dir / f"trial-{trial.number}"
    with Heartbeat(storage, study, trial):
        trial.set_user_attr("worker", this_worker())
        study.sampler = sampler(search, trial.number)
        params = {flag: suggest(trial, flag, distribution) for flag, distribution in search.space.items()}
        trial.set_user_attr("run", folder.name)
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        logger.info("Trial %d (%s): %s", trial.number, folder, shown)
        try:
            take_over(search, trial, folder)
            run = search.plan.run(folder, **params)  # a folder of a run of other settings refused
            if (folder / FINISHED_MARKER).exists():  # a run that finished but was not told (its worker died)
                value = json.loads((folder / FINISHED_MARKER).read_text(encoding="utf-8"))[search.metric]
                logger.info("Trial %d: its run had finished; kept as it is", trial.number)
            else:
                value = train(run.arguments, validation_only=True).results["eval"][search.metric]
        except Interrupted as stop:
            fail(study, trial, f"stopped by {stop.signal}")
            stop.where += f" in trial {trial.number} ({folder})"
            stop.resume = (
                "rerun the same command to go on: complete trials are kept, this one is queued again and "
                "resumes from its checkpoint"
            )
            raise
        except ProjectError as err:
            fail(study, trial, f"failed: {err}")
            raise ProjectError(f"trial {trial.number} ({folder}): {err}") from None
        except Exception as err:
            logger.exception("Trial %d failed", trial.number)
            fail(study, trial, f"failed: {' '.join(str(err).split())}")
            raise ProjectError(
                f"trial {trial.number} ({folder}) failed: {' '.join(str(err).split())}; fix that and "
                "rerun the same command (this trial is queued again)"
            ) from None
    try:
        study.tell(trial, value)
    except (ValueError, RuntimeError):  # failed meanwhile by another worker (no heartbeat in time): not counted
        logger.warning(
            "Trial %d was marked failed by another worker meanwhile (no heartbeat for %d s): its result is not counted",
            trial.number,
            HEARTBEAT_GRACE,
        )
    return value


def fail(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    try:
        trial.set_user_attr("failure", reason)
        study.tell(trial, state=TrialState.FAIL)
    except (ValueError, RuntimeError):
        return  # already failed by another worker, which queued it again
    retry(study, study.get_trials(deepcopy=False)[trial.number])


def stand_down(study: optuna.Study, trial: optuna.Trial, target: int) -> None:
    """A trial asked for in the same moment as another worker's: the earlier numbers fill the study; it does not run."""
    trial.set_user_attr(
        "failure", f"not run: {target} trials with smaller numbers were already complete, running or queued"
    )
    study.tell(trial, state=TrialState.FAIL)
    logger.info("Trial %d: not run, %d trials with smaller numbers claim the search's %d", trial.number, target, target)


def work(study: optuna.Study, storage: optuna.storages.BaseStorage, search: Search) -> list[int]:
    """Run trials until the study holds `search.trials` complete ones; the numbers of those this worker completed.
    `storage`: the study's, as opened (`storage.open_storage`)."""
    done = []
    waiting_said = False
    while True:
        fail_dead_trials(study, storage)
        trials = study.get_trials(deepcopy=False)
        complete = counts(trials)[TrialState.COMPLETE]
        if complete >= search.trials:
            return done
        if not may_ask(trials, search.trials):
            if not waiting_said:
                logger.info(
                    "%d of %d trials complete; waiting for the ones running in other workers", complete, search.trials
                )
                waiting_said = True
            time.sleep(POLL)
            continue
        waiting_said = False
        with warnings.catch_warnings():  # "Heartbeat of storage is supposed to be used with Study.optimize": it is here
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            trial = study.ask()
        if claimed_before(study.get_trials(deepcopy=False), trial.number) >= search.trials:
            stand_down(study, trial, search.trials)
            continue
        value = run_trial(study, storage, search, trial)
        done.append(trial.number)
        complete = counts(study.get_trials(deepcopy=False))[TrialState.COMPLETE]
        logger.info(
            "Trial %d: %s %.4f (%d of %d trials complete)", trial.number, search.metric, value, complete, search.trials
        )
