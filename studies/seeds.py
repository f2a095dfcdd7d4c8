"""A seed study: one recipe trained once per seed, each run complete in its own folder, then summarized.

Three seeds, each with one job (Dodge et al. 2020 separated them): the split seed picks the validation rows (the
notebook's split was unseeded), the data seed the order of the training batches, the seed the new head's
initialisation and dropout. A study varies all of them, or one (`split`, `order`, `init`) with the others at the
recipe's; `each` runs a study for each of the three and puts their spreads side by side. Rerun after an
interruption: finished runs are kept, the interrupted one resumes, the rest run."""

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from errors import Interrupted, ProjectError
from run_folder import FINISHED_MARKER, read_settings
from sst_data import describe
from training import train
from training.arguments import SEED_RANGE
from training_report import base_model_name

from .plan import RUN_FOLDER, PlannedRun, StudyPlan
from .summary import SUMMARY_FILES, VARIANCE_FILES, write_summary, write_variance

# The flag each source of randomness is.
SEED_SETTINGS = {"split": ("split_seed",), "order": ("data_seed",), "init": ("seed",)}
SEED_SETTINGS["all"] = SEED_SETTINGS["each"] = tuple(name for names in SEED_SETTINGS.values() for name in names)
SOURCES = ["split", "order", "init"]  # what `each` runs, side by side
logger = logging.getLogger(__name__)


@dataclass
class StudyArguments:
    output_dir: str = field(metadata={"help": "The study's folder: one run folder per seed, and the summary."})
    seeds: list[str] | None = field(
        default=None,
        metadata={"help": "The seeds, at least 2 distinct integers: --seeds 42 43 44 45 46 (default: the recipe's "
                  "seed and the four after it)."},
    )
    vary: str = field(
        default="all",
        metadata={
            "help": "Which seeds change across runs: 'all', 'split' (--split_seed), 'order' (--data_seed), "
            "'init' (--seed); 'each': one study per source, side by side.",
            "choices": ["all", "split", "order", "init", "each"],
        },
    )


def parse_seeds(given: list[str], default: int) -> list[int]:
    try:
        seeds = [int(seed) for seed in given] if given is not None else [default + i for i in range(5)]
    except ValueError:
        raise ProjectError(f"--seeds {' '.join(given)}: seeds are integers, e.g. --seeds 42 43 44") from None
    shown = " ".join(map(str, seeds))
    if any(not SEED_RANGE[0] <= seed <= SEED_RANGE[1] for seed in seeds):
        raise ProjectError(f"--seeds {shown}: seeds are integers from {SEED_RANGE[0]} to {SEED_RANGE[1]}")
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ProjectError(f"--seeds {shown}: {', '.join(map(str, repeated))} given twice; each seed once")
    if len(seeds) < 2:
        raise ProjectError(f"--seeds {shown}: a study needs at least 2 seeds to measure a spread")
    return seeds


def owned_flags(vary: str) -> tuple[str, ...]:
    """The flags a seed study sets for each of its runs (studies.plan.OWNED_FLAGS says why): the run folder's, and
    the seeds it varies."""
    return (*RUN_FOLDER, *SEED_SETTINGS[vary])


@dataclass
class SeedRun(PlannedRun):
    seed: int


def plan_study(plan: StudyPlan, seeds: list[int], vary: str, output_dir: Path) -> dict[str, list[SeedRun]]:
    """The runs of each study (one, or one per source with `each`), checked before any of them starts: that a run
    already in its folder was started with the very same settings."""
    if vary in ("order", "each") and plan.arguments.training.train_sampling_strategy == "group_by_length":
        raise ProjectError(
            f"--vary {vary}: with train_sampling_strategy group_by_length the Trainer draws the batch order from --seed, "
            "not --data_seed; vary init or all, or use a recipe with random batches"
        )
    studies = {}
    for source in SOURCES if vary == "each" else [vary]:
        folder = Path(output_dir) / source if vary == "each" else Path(output_dir)
        runs = []
        for seed in seeds:
            run = plan.run(folder / f"seed-{seed}", **dict.fromkeys(SEED_SETTINGS[source], seed))
            runs.append(SeedRun(run.folder, run.arguments, run.settings, seed))
        studies[source] = runs
    return studies


def share_identical_runs(root: Path, studies: dict[str, list[SeedRun]]) -> None:
    """Train each distinct run once: a run whose settings equal those of another run of this study (`each`: every
    seed at the recipe's value in all three sources), or of a finished run already in the study's folder (an earlier
    study there), becomes a link to that run's folder."""
    known = {
        canonical(read_settings(path)): path.parent
        for path in sorted(root.glob("**/run_settings.json"))
        if (path.parent / FINISHED_MARKER).exists() and not path.parent.is_symlink()
    }
    for runs in studies.values():
        for run in runs:
            key = canonical(run.settings)
            if key in known and known[key] != run.folder and not run.folder.exists():
                run.folder.parent.mkdir(parents=True, exist_ok=True)
                run.folder.symlink_to(os.path.relpath(known[key], run.folder.parent), target_is_directory=True)
                logger.info("Seed %d (%s): the same run as %s, linked", run.seed, run.folder, known[key])
            known.setdefault(key, run.folder)


def canonical(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True)


def run_study(studies: dict[str, list[SeedRun]], output_dir: Path) -> dict[str, dict]:
    """Train every planned run that is not finished (an interrupted one resumes from its checkpoint), then write each
    study's summary (seeds.json, .md, .csv, .png) and, for `each`, the sources side by side (variance.json, .md).
    The summaries' records (seeds.json), by source."""
    root = Path(output_dir)
    each = len(studies) > 1
    for folder in {root, *(root / source for source in studies if each)}:
        for name in (*SUMMARY_FILES, *VARIANCE_FILES):  # a summary is only ever of the runs this study made
            (folder / name).unlink(missing_ok=True)
    share_identical_runs(root, studies)

    start = time.perf_counter()
    for runs in studies.values():
        for run in runs:
            if (run.folder / FINISHED_MARKER).exists():
                logger.info("Seed %d (%s): finished, kept as it is", run.seed, run.folder)
                continue
            logger.info("Seed %d (%s): training", run.seed, run.folder)
            try:
                train(run.arguments)
            except ProjectError as err:
                raise ProjectError(f"seed {run.seed} ({run.folder}): {err}") from None
            except Interrupted as stop:
                stop.where += f" in seed {run.seed} ({run.folder})"
                stop.resume = "rerun the same command to go on: finished runs are kept, this one resumes from its checkpoint"
                raise
    logger.info("All runs finished; %.0f s of training and evaluation in this call", time.perf_counter() - start)

    model = base_model_name(next(iter(studies.values()))[0].arguments.model.model_name_or_path)
    records = {}
    for source, runs in studies.items():
        folder = runs[0].folder.parent
        notebook = describe(runs[0].arguments.data)["notebook"]
        logger.info(write_summary(folder, {run.seed: run.folder for run in runs}, source, model, notebook))
        records[source] = json.loads((folder / "seeds.json").read_text(encoding="utf-8"))
    if each:
        write_variance(root, {source: record["metrics"] for source, record in records.items()})
    return records
