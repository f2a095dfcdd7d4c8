"""A hyperparameter search on Optuna, each trial an ordinary run trained by `training.train` in
OUTPUT_DIR/trial-<number>/, scored on its validation split only; then the winner confirmed by a seed study and the
whole search reported as what the budget buys (training_report.search).

Workers. Any number of processes running the same command share one study in one storage: by default a journal file
in OUTPUT_DIR (Optuna's JournalFileBackend: an append-only log under a file lock, safe for several processes on one
machine where SQLite's locking is not), or a database URL (STORAGE=postgresql://...) for workers on many machines.
Each worker asks the study for a trial and trains it until the study holds TRIALS complete trials. Exactly TRIALS:
a worker asks only while fewer than TRIALS trials are complete, running or queued, and after asking runs its trial
only if fewer than TRIALS trials with a smaller number are (two workers asking at once: the later number stands down).

A worker that dies. Its running trial is marked failed and does not count: on one machine at once (each trial records
its worker's host, process id and start time, and a worker whose process is gone is dead), across machines once its
database heartbeat is older than HEARTBEAT_GRACE seconds (RDBStorage's heartbeat). The failed trial's configuration is
queued again (up to MAX_ATTEMPTS attempts), and the worker that takes it moves the failed trial's folder to its own
trial-<number>/ and resumes that run from its last complete checkpoint (or starts it, without one). Ctrl-C, SIGTERM and
a failed run do the same, then stop the worker in one line; the same command goes on.

The report (search.json, search.md, trials.csv, the plots) is written once the study holds TRIALS complete trials, by
the worker that ran the highest-numbered of them (the others stop, saying so), or by a command started after the
search ended; first the winner's confirmation, a seed study over SEEDS in OUTPUT_DIR/confirmation/."""

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from errors import Interrupted, ProjectError, stop_on_signals
from run_folder import CARD_INPUTS, FINISHED_MARKER, SETTINGS_FILE, check_rerun, read_settings, run_settings
from run_folder.settings import settings_differences
from sst_data import describe
from training import check_model_source, train
from training.recipes import given_flags
from training_report.model_card import base_model_card, base_model_id
from training_report.search import SEARCH_FILES, write_search_report
from training_report.splits import split_names

from .seeds import parse_seeds, plan_study, run_study
from .space import DEFAULT_SPACE, read_space, space_record, with_value

logger = logging.getLogger(__name__)
DIRECTION = "maximize"
METRICS = ("accuracy", "macro_f1")  # what a trial scores on its validation split
SAMPLERS = ("random", "tpe")
HEARTBEAT_INTERVAL = 20  # seconds between a running trial's heartbeats in a database
HEARTBEAT_GRACE = 120  # a database trial without a heartbeat for this long is failed (its worker is gone)
ORPHAN_AFTER = 120  # a journal trial running this long without naming its worker lost it between two calls
POLL = 2.0  # seconds a worker waits between looks at a study whose last trials run elsewhere
MAX_ATTEMPTS = 3  # a configuration whose run failed this often is dropped, not queued again
REPORT_LOCK = ".search-report.lock"
# Flags the search sets for each trial, or that a trial must not do.
OWNED_FLAGS = {
    "output_dir": "the search's folder is its own --output_dir; each trial's is OUTPUT_DIR/trial-<number>",
    "overwrite_output_dir": "the search resumes or keeps each trial's folder itself",
    "resume_from_checkpoint": "the search resumes an interrupted trial itself",
    "push_to_hub": "trials are not published; push the confirmed runs with push_to_hub.py",
    "push_to_hub_dry_run": "trials are not published; push the confirmed runs with push_to_hub.py",
}


@dataclass
class SearchArguments:
    output_dir: str = field(
        metadata={"help": "The search's folder: trial-<number>/ per trial, confirmation/, the report."}
    )
    trials: int = field(default=20, metadata={"help": "Run trials until the study holds this many complete ones."})
    space: str = field(
        default=DEFAULT_SPACE, metadata={"help": "The search space: a YAML file of flag → distribution."}
    )
    storage: str | None = field(
        default=None,
        metadata={
            "help": "Where the study lives: a database URL (postgresql://user@host:port/db; the password in "
            "PGPASSWORD or ~/.pgpass, not in the URL) for workers on several machines. Default: a journal file "
            "in --output_dir (workers on one machine)."
        },
    )
    study_name: str | None = field(
        default=None, metadata={"help": "The study's name in the storage (default: the name of --output_dir)."}
    )
    seeds: list[str] | None = field(
        default=None,
        metadata={
            "help": "Confirm the best configuration over these seeds (a seed study, --vary all), or 'none'. "
            "Default: the five seeds after the recipe's --seed (the recipe's own seed would repeat the trial)."
        },
    )
    sampler: str = field(
        default="random",
        metadata={
            "help": "'random': independent draws, what the expected-best curve assumes; 'tpe': Optuna's TPE "
            "(the curve then describes a sequence that learns, and the report says so).",
            "choices": SAMPLERS,
        },
    )
    sampler_seed: int | None = field(
        default=None,
        metadata={"help": "Seed of the draws (default: the recipe's --seed); trial N's draw depends on it and N only."},
    )
    baseline: str | None = field(
        default=None,
        metadata={"help": "seeds.json of the recipe's own seed study (make seeds), drawn as a line on the curve."},
    )
    metric: str = field(
        default="accuracy",
        metadata={"help": "What a trial is scored by on its validation split: 'accuracy', or 'macro_f1' (classes of "
                  "unequal size).", "choices": METRICS},
    )  # fmt: skip


@dataclass
class Search:
    """A search checked and ready to run: nothing has been written yet."""

    output_dir: Path
    trials: int
    arguments: tuple  # (model, data, training) arguments every trial starts from
    space: dict  # flag -> Optuna distribution
    space_file: Path
    storage: str | None
    study_name: str
    seeds: list[int] | None
    sampler: str
    sampler_seed: int
    baseline: dict | None
    settings: dict  # run_folder.run_settings of the arguments: what the study is a search of
    metric: str  # the validation metric a trial scores: eval_accuracy or eval_macro_f1

    @property
    def sampler_name(self) -> str:
        return f"{self.sampler} (seed {self.sampler_seed})"


def check_owned_flags(argv: list[str]) -> None:
    if clash := sorted(set(OWNED_FLAGS) & given_flags(argv)):
        raise ProjectError(f"--{clash[0]}: {OWNED_FLAGS[clash[0]]}; drop it")


def plan_search(search_args: SearchArguments, arguments: tuple, argv: list[str]) -> Search:
    """Every input checked, in one line each, before any model loads or anything is written: the trials, the space
    (against the arguments), the seeds, the sampler, the baseline, the model and data (their hashes)."""
    if search_args.trials < 1:
        raise ProjectError(f"--trials {search_args.trials}: at least 1 (20 or more for a curve worth reading)")
    space = read_space(search_args.space, arguments)
    if clash := [flag for flag in space if flag in given_flags(argv)]:
        raise ProjectError(
            f"--{clash[0]}: the search space ({search_args.space}) varies it; drop the flag or the space's key"
        )
    seeds = None
    if [s.lower() for s in search_args.seeds or []] != ["none"]:
        seeds = parse_seeds(search_args.seeds, arguments[2].seed + 1)
    sampler_seed = arguments[2].seed if search_args.sampler_seed is None else search_args.sampler_seed
    output_dir = Path(search_args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ProjectError(f"--output_dir {output_dir}: is a file, not a folder; choose another --output_dir")
    check_model_source(arguments[0].model_name_or_path)
    settings = run_settings(*arguments)  # the model and data hashed
    metric = f"eval_{search_args.metric}"
    baseline = read_baseline(search_args.baseline, settings, metric) if search_args.baseline else None
    return Search(
        output_dir=output_dir,
        trials=search_args.trials,
        arguments=arguments,
        space=space,
        space_file=Path(search_args.space),
        storage=search_args.storage,
        study_name=search_args.study_name or output_dir.resolve().name,
        seeds=seeds,
        sampler=search_args.sampler,
        sampler_seed=sampler_seed,
        baseline=baseline,
        settings=settings,
        metric=metric,
    )


# What a baseline's runs must share with the search's for its mean to be a line on the same plot.
BASELINE_SETTINGS = (
    "model",
    "model_sha256",
    "data_sha256",
    "sample_fraction",
    "sample_seed",
    "validation_fraction",
    "validation_split",
    "max_length",
)


def read_baseline(path: str, settings: dict, metric: str) -> dict:
    """The recipe's own seed study (its seeds.json): mean and std of its validation `metric`, checked to be of the
    same model, data and sample as the search."""
    file = Path(path) / "seeds.json" if Path(path).is_dir() else Path(path)
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        scores = record["metrics"][metric]
        mean, std, values = float(scores["mean"]), float(scores["std"]), scores["values"]
        runs = list(record["runs"].values())
    except OSError as err:
        raise ProjectError(
            f"--baseline {path}: cannot read it ({err.strerror}); pass a seed study's seeds.json"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ProjectError(f"--baseline {path}: not a seed study's seeds.json (make seeds writes one)") from None
    for run in runs:
        recorded = file.parent / run / SETTINGS_FILE
        if recorded.is_file():
            theirs = {k: v for k, v in read_settings(recorded).items() if k in BASELINE_SETTINGS}
            ours = {k: v for k, v in settings.items() if k in BASELINE_SETTINGS}
            if differences := settings_differences(theirs, ours):
                raise ProjectError(
                    f"--baseline {path}: its runs differ from the search's ({'; '.join(differences)}); "
                    "pass a seed study of the same model, data and sample"
                )
    return {"path": str(file), "mean": mean, "std": std, "runs": len(values)}


# The storage ------------------------------------------------------------------------------------------------------


def masked(url: str) -> str:
    """A storage URL as printed and written anywhere: without its password."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def open_storage(search: Search):
    """The study's storage: a journal file in OUTPUT_DIR, or the database at --storage (reached now, in one line
    when it cannot be, before anything trains)."""
    if not search.storage:
        try:
            search.output_dir.mkdir(parents=True, exist_ok=True)
            backend = optuna.storages.journal.JournalFileBackend(str(search.output_dir / "search.journal"))
        except OSError as err:
            raise ProjectError(
                f"--output_dir {search.output_dir}: cannot write there ({err.strerror}); choose a writable folder"
            ) from None
        return optuna.storages.JournalStorage(backend)
    url = search.storage
    if "://" not in url:
        raise ProjectError(
            f"--storage {masked(url)}: not a database URL; give e.g. postgresql://user@host:5432/db, "
            "or leave it out for a journal file in --output_dir"
        )
    engine = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine["connect_args"] = {"connect_timeout": 10}
        url = re.sub(r"^postgresql://", "postgresql+psycopg://", url)  # the driver installed (psycopg 3), whatever
        # SQLAlchemy's default for a bare postgresql:// (psycopg2 before 2.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for attempt in range(3):  # workers creating the tables of a new database at once may collide: try again
            try:
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=HEARTBEAT_INTERVAL,
                    grace_period=HEARTBEAT_GRACE,
                    heartbeat_stale_trial_callback=retry,
                )
            except ImportError as err:
                raise ProjectError(
                    f"--storage {masked(search.storage)}: no driver for it ({err}); PostgreSQL's (psycopg) is "
                    "installed with the project"
                ) from None
            except Exception as err:  # sqlalchemy's errors: unreachable, refused, unknown database or dialect  # noqa: BLE001
                reason = storage_error(err, url)
                if attempt == 2 or "could not connect" in reason or "connection" in reason.lower():
                    raise ProjectError(
                        f"--storage {masked(search.storage)}: cannot open it ({reason}); check that the server runs "
                        "and the URL (user, host, port, database) is right"
                    ) from None
                time.sleep(1 + attempt)


def storage_error(err: Exception, url: str) -> str:
    """The first line of a storage error, without the URL's password."""
    original = getattr(err, "orig", None) or err
    line = next((line.strip() for line in str(original).splitlines() if line.strip()), type(err).__name__)
    password = re.search(r"://[^:/@]*:([^@]*)@", url)
    return masked(line.replace(password[1], "***") if password and password[1] else line)


def open_study(search: Search) -> optuna.Study:
    """The study, created or joined, checked to be a search of the same space, settings and sampler."""
    storage = open_storage(search)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        try:  # joined first: a journal records every create_study, even of a study that exists
            study = optuna.load_study(study_name=search.study_name, storage=storage, sampler=sampler(search, 0))
        except KeyError:
            study = optuna.create_study(
                study_name=search.study_name,
                storage=storage,
                direction=DIRECTION,
                sampler=sampler(search, 0),
                load_if_exists=True,
            )
    except Exception as err:  # whatever the storage raised, said in one line  # noqa: BLE001
        raise ProjectError(
            f"--storage {masked(search.storage or str(search.output_dir / 'search.journal'))}: cannot "
            f"open the study ({storage_error(err, search.storage or '')})"
        ) from None
    identity = search_identity(search)
    recorded = study.user_attrs.get("search")
    if recorded is None:
        # trial folders and no trial: another search's (a worker starting now asks its trial before making its folder)
        if any(search.output_dir.glob("trial-*")) and not study.get_trials(deepcopy=False):
            raise ProjectError(
                f"--output_dir {search.output_dir} holds trial folders of another search (study "
                f"'{search.study_name}' is new in its storage); choose another --output_dir or move them"
            )
        study.set_user_attr("search", identity)
        recorded = optuna.load_study(study_name=search.study_name, storage=storage).user_attrs["search"]
    if differences := settings_differences(flatten(recorded), flatten(identity)):
        raise ProjectError(
            f"study '{search.study_name}' in {describe_storage(search)} is a search of another space, "
            f"recipe, data or sampler ({'; '.join(differences)}); rerun it as it was, or choose "
            "another --study_name or --output_dir"
        )
    return study


def search_identity(search: Search) -> dict:
    """What a study is a search of: its space, sampler and metric, and every setting the space does not vary."""
    settings = {k: v for k, v in search.settings.items() if k not in search.space}
    return {
        "space": space_record(search.space),
        "settings": settings,
        "sampler": search.sampler,
        "sampler_seed": search.sampler_seed,
        "metric": search.metric,
    }


def flatten(identity: dict) -> dict:
    flat = {f"space {flag}": json.dumps(d, sort_keys=True) for flag, d in identity["space"].items()}
    return flat | identity["settings"] | {k: identity[k] for k in ("sampler", "sampler_seed", "metric")}


def describe_storage(search: Search) -> str:
    return masked(search.storage) if search.storage else str(search.output_dir / "search.journal")


def sampler(search: Search, number: int) -> optuna.samplers.BaseSampler:
    """The sampler that draws trial `number`: seeded by the search's seed and the number alone, so that workers
    draw different trials and a rerun draws the same ones."""
    seed = int(np.random.SeedSequence([search.sampler_seed, number]).generate_state(1)[0])
    if search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)  # constant liar: workers in parallel
    return optuna.samplers.RandomSampler(seed=seed)


# Workers: who is alive, and what happens to a trial whose worker is not ---------------------------------------------


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
    heartbeat callback)."""
    attempt = trial.user_attrs.get("attempt", 1)
    if attempt >= MAX_ATTEMPTS:
        logger.warning(
            "Trial %d failed, attempt %d of its configuration: dropped, not queued again", trial.number, attempt
        )
        return
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number, "attempt": attempt + 1})
    logger.info("Trial %d failed: its configuration is queued again (attempt %d)", trial.number, attempt + 1)


def beats(storage) -> bool:
    """Whether the study's storage keeps heartbeats (an RDBStorage, which Optuna wraps in a cache; not a journal)."""
    interval = getattr(storage, "get_heartbeat_interval", None)
    return callable(interval) and interval() is not None


def fail_dead_trials(study: optuna.Study) -> None:
    """Mark failed, and queue again, each running trial whose worker is gone: at once on this machine, after the
    heartbeat's grace period on another (databases only)."""
    if beats(study._storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    journal = isinstance(study._storage, optuna.storages.JournalStorage)
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
    """A running trial's heartbeat in a database (RDBStorage.record_heartbeat), every HEARTBEAT_INTERVAL seconds."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial):
        self.storage = study._storage  # private, as Optuna's own heartbeat thread reads them (docs/development.md)
        self.trial_id = trial._trial_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True)

    def beat(self) -> None:
        while True:
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception as err:  # a lost connection: the next beat tries again  # noqa: BLE001
                logger.warning("Heartbeat not recorded (%s)", " ".join(str(err).split())[:200])
            if self.stop.wait(HEARTBEAT_INTERVAL):
                return

    def __enter__(self):
        if beats(self.storage):
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


# The trials ---------------------------------------------------------------------------------------------------------


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


def trial_arguments(arguments: tuple, params: dict, folder: Path) -> tuple:
    model_args, data_args, training_args = with_value(arguments, params)
    training_args = dataclasses.replace(
        training_args, output_dir=str(folder), overwrite_output_dir=False, resume_from_checkpoint=None
    )
    return model_args, data_args, training_args


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


def run_trial(study: optuna.Study, search: Search, trial: optuna.Trial) -> float:
    """Train the trial (or take the result of a run of it that finished), and tell the study; a failure or a stop
    marks it failed and queues its configuration again before it goes up."""
    folder = search.output_dir / f"trial-{trial.number}"
    with Heartbeat(study, trial):
        trial.set_user_attr("worker", this_worker())
        study.sampler = sampler(search, trial.number)
        params = {flag: suggest(trial, flag, distribution) for flag, distribution in search.space.items()}
        trial.set_user_attr("run", folder.name)
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        logger.info("Trial %d (%s): %s", trial.number, folder, shown)
        try:
            take_over(search, trial, folder)
            arguments = trial_arguments(search.arguments, params, folder)
            if (folder / FINISHED_MARKER).exists():  # a run that finished but was not told (its worker died)
                check_rerun(folder, run_settings(*arguments))
                value = json.loads((folder / FINISHED_MARKER).read_text(encoding="utf-8"))[search.metric]
                logger.info("Trial %d: its run had finished; kept as it is", trial.number)
            else:
                value = train(*arguments, validation_only=True).results["eval"][search.metric]
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


def work(study: optuna.Study, search: Search) -> list[int]:
    """Run trials until the study holds `search.trials` complete ones; the numbers of those this worker completed."""
    done = []
    waiting_said = False
    while True:
        fail_dead_trials(study)
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
        value = run_trial(study, search, trial)
        done.append(trial.number)
        complete = counts(study.get_trials(deepcopy=False))[TrialState.COMPLETE]
        logger.info(
            "Trial %d: %s %.4f (%d of %d trials complete)", trial.number, search.metric, value, complete, search.trials
        )


# The report -------------------------------------------------------------------------------------------------------


def trial_records(study: optuna.Study, output_dir: Path) -> list[dict]:
    """Every finished trial as search.json lists it (queued and running ones are left out)."""
    trials = study.get_trials(deepcopy=False)
    retried_as = {
        t.user_attrs["retry_of"]: t.number
        for t in trials
        if "retry_of" in t.user_attrs and t.state != TrialState.WAITING
    }
    records = []
    for t in trials:
        if not t.state.is_finished():
            continue
        run = t.user_attrs.get("run")
        notes = []
        if "retry_of" in t.user_attrs:
            notes.append(f"retry of trial {t.user_attrs['retry_of']}")
        if t.state == TrialState.FAIL:
            notes.append(t.user_attrs.get("failure", "failed: its worker died (killed, or its machine lost)"))
        if t.number in retried_as:
            notes.append(f"retried as trial {retried_as[t.number]}")
        records.append(
            {
                "number": t.number,
                "state": t.state.name,
                "params": t.params,
                "value": t.value,
                "run": run if run and (output_dir / run).is_dir() else None,
                "note": "; ".join(notes),
            }
        )
    return records


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
    arguments = trial_arguments(search.arguments, params, folder)
    try:
        studies = plan_study(arguments, search.seeds, "all", folder)
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
        complete = [t for t in trials if t["state"] == "COMPLETE"]
        best = max(complete, key=lambda t: (t["value"], -t["number"]))
        confirmation = confirm(search, best["params"], best["number"]) if search.seeds else None
        notes = []
        if confirmation and any(
            all(
                getattr(a, s) == seed
                for a, s in (
                    (search.arguments[1], "split_seed"),
                    (search.arguments[2], "data_seed"),
                    (search.arguments[2], "seed"),
                )
            )
            for seed in search.seeds
        ):
            notes.append(
                f"Seed {search.arguments[2].seed} repeats the winning trial's own run (its split and seeds), "
                "whose score was selected: the confirmed mean is biased up by it."
            )
        data_args = search.arguments[1]
        source = describe(data_args)
        cards = sorted(search.output_dir.glob(f"trial-*/{CARD_INPUTS}"))  # a trial's card names the split it scored
        selected_on = json.loads(cards[0].read_text(encoding="utf-8"))["splits"][0]["title"] if cards else split_names(
            data_args.validation_fraction, data_args.validation_split, source)["eval"].title  # fmt: skip
        hygiene = (
            "dev and test were never scored during the search: each trial evaluated its validation split only "
            "(train(validation_only=True)); the confirmation scores them."
        )
        if data_args.validation_split == "dev":
            hygiene += (
                " Here the validation split IS the official dev split (validation_split dev): the search "
                "selected on dev, so the confirmation's dev scores are not held out; test is."
            )
        name = search.arguments[0].model_name_or_path
        record = write_search_report(
            search.output_dir,
            study=study,
            study_name=search.study_name,
            metric=search.metric,
            direction=DIRECTION,
            sampler=search.sampler_name,
            space=space_record(search.space),
            storage=describe_storage(search),
            trials=trials,
            confirmation=confirmation,
            baseline=search.baseline,
            selected_on=selected_on,
            hygiene=hygiene,
            model=base_model_id(name, base_model_card(name)) or Path(name).name,
            confirmation_notes=notes,
            notebook=source["notebook"],
        )
        return record, True


def run_search(search: Search) -> dict | None:
    """Join (or start) the study, run trials until it holds `search.trials` complete ones, and write the report if
    this worker is the one to; its record, or None when another worker writes it (or wrote it meanwhile). A command
    that ran no trial (started after the search ended) gets the record whoever wrote it."""
    study = open_study(search)
    logger.info(
        "Study '%s' in %s: %d of %d trials complete",
        search.study_name,
        describe_storage(search),
        counts(study.get_trials(deepcopy=False))[TrialState.COMPLETE],
        search.trials,
    )
    started = time.perf_counter()
    with stop_on_signals():
        done = work(study, search)
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
