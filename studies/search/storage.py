"""Where a study lives: a journal file in the search's folder (workers on one machine) or a database (workers on
many), opened and checked to be a search of the same space, settings and sampler; and the sampler of each trial."""

import json
import re
import time
import warnings

import numpy as np
import optuna

from errors import ProjectError
from run_folder.settings import settings_differences

from ..space import space_record
from .plan import DIRECTION, Search
from .workers import retry

HEARTBEAT_INTERVAL = 20  # seconds between a running trial's heartbeats in a database
HEARTBEAT_GRACE = 120  # a database trial without a heartbeat for this long is failed (its worker is gone)


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


def open_study(search: Search, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """The study in `storage` (`open_storage`), created or joined, checked to be a search of the same space, settings
    and sampler."""
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
    settings = {k: v for k, v in search.plan.settings.items() if k not in search.space}
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
