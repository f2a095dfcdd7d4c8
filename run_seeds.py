#!/usr/bin/env python
"""Train one recipe once per seed and summarize the spread: does it reproduce the notebook's result?

    python run_seeds.py --seeds 42 43 44 45 46 --output_dir outputs/seeds --model_name_or_path M --data_dir D
    python run_seeds.py --seeds 42 43 44 --vary each --output_dir outputs/seeds-each --config recipes/fast.yaml
    make seeds SEEDS="42 43 44 45 46" VARY=all MODEL=M DATA_DIR=D OUTPUT_DIR=O RECIPE=R ARGS="..."

Three seeds, each with one job (Dodge et al. 2020 separated them): --split_seed picks the validation rows
(the notebook's split was unseeded), --data_seed the order of the training batches, --seed the new head's
initialisation and dropout. --vary names the ones the study changes (the others stay at the recipe's): all,
split, order or init; `each` runs a study for each of split, order and init and puts their spreads side by
side. Every other flag goes to run_finetune.py unchanged. Each run is an ordinary complete run in
OUTPUT_DIR/seed-<N>/ (with --vary each: OUTPUT_DIR/<split|order|init>/seed-<N>/); the summary goes to
seeds.json, seeds.md, seeds.csv and seeds.png beside them. Rerun the same command after an interruption:
finished runs are kept, the interrupted one resumes, the rest run.
"""

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser

import run_finetune
from run_state import Interrupted, check_rerun, exit_in_one_line, read_settings, run_settings
from sst_data import ProjectError
from training_report import FINISHED_MARKER
from training_report.model_card import base_model_card, base_model_id
from training_report.study import SUMMARY_FILES, VARIANCE_FILES, write_summary, write_variance

SEED_FLAGS = {"split": ["--split_seed"], "order": ["--data_seed"], "init": ["--seed"]}
SEED_FLAGS["all"] = [flag for flags in SEED_FLAGS.values() for flag in flags]
logger = logging.getLogger("run_seeds")


@dataclass
class StudyArguments:
    seeds: list[str] = field(metadata={"help": "The seeds, at least 2 distinct integers: --seeds 42 43 44 45 46."})
    output_dir: str = field(metadata={"help": "The study's folder: one run folder per seed, and the summary."})
    vary: str = field(
        default="all",
        metadata={
            "help": "Which seeds change across runs: 'all', 'split' (--split_seed), 'order' (--data_seed), "
            "'init' (--seed); 'each': one study per source, side by side.",
            "choices": ["all", "split", "order", "init", "each"],
        },
    )


@dataclass
class Run:
    seed: int
    folder: Path
    argv: list[str]
    settings: dict  # run_state.run_settings: hashing the model and data files is worth doing once


def parse_study(argv=None) -> tuple[StudyArguments, list[str]]:
    parser = HfArgumentParser(StudyArguments, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    study, rest = parser.parse_args_into_dataclasses(argv, return_remaining_strings=True)
    try:
        study.seeds = [int(seed) for seed in study.seeds]
    except ValueError:
        raise ProjectError(f"--seeds {' '.join(study.seeds)}: seeds are integers, e.g. --seeds 42 43 44") from None
    repeated = sorted({seed for seed in study.seeds if study.seeds.count(seed) > 1})
    if repeated:
        raise ProjectError(f"--seeds {' '.join(map(str, study.seeds))}: {', '.join(map(str, repeated))} given twice; each seed once")
    if len(study.seeds) < 2:
        raise ProjectError(f"--seeds {' '.join(map(str, study.seeds))}: a study needs at least 2 seeds to measure a spread")
    given = {arg.split("=")[0] for arg in rest if arg.startswith("--")}
    for flag in ["--output_dir", "--overwrite_output_dir", "--resume_from_checkpoint", *SEED_FLAGS.get(study.vary, SEED_FLAGS["all"])]:
        if flag in given:
            raise ProjectError(f"{flag}: the study sets it for each run (--vary {study.vary}); drop it")
    return study, rest


def plan(study: StudyArguments, rest: list[str]) -> dict[str, list[Run]]:
    """The runs of each study (one, or one per source with --vary each), checked before any of them starts:
    arguments, and that a run already in its folder was started with the very same settings."""
    sources = ["split", "order", "init"] if study.vary == "each" else [study.vary]
    root = Path(study.output_dir)
    studies = {}
    for vary in sources:
        folder = root / vary if study.vary == "each" else root
        runs = []
        for seed in study.seeds:
            run_dir = folder / f"seed-{seed}"
            argv = [*rest, "--output_dir", str(run_dir), *(x for flag in SEED_FLAGS[vary] for x in (flag, str(seed)))]
            model_args, data_args, training_args = run_finetune.parse_args(argv)
            if vary == "order" and training_args.train_sampling_strategy == "group_by_length":
                raise ProjectError(
                    "--vary order: with train_sampling_strategy group_by_length the Trainer draws the batch order "
                    "from --seed, not --data_seed; vary init or all, or use a recipe with random batches"
                )
            settings = run_settings(model_args, data_args, training_args)
            check_rerun(run_dir, settings)
            runs.append(Run(seed, run_dir, argv, settings))
        studies[vary] = runs
    return studies


def share_identical_runs(root: Path, studies: dict[str, list[Run]]) -> None:
    """Train each distinct run once: a run whose settings equal those of another run of this study (--vary each:
    every seed at the recipe's value in all three sources), or of a finished run already in the study's folder
    (an earlier study there), becomes a link to that run's folder."""
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


def main(argv=None) -> None:
    study, rest = parse_study(argv)
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%H:%M:%S",
                        handlers=[logging.StreamHandler(sys.stdout)])  # fmt: skip
    logger.setLevel(logging.INFO)

    ###############
    # Plan every run and check it against what its folder holds, before any of them starts
    ###############
    studies = plan(study, rest)
    root = Path(study.output_dir)
    for folder in {root, *(root / vary for vary in studies if study.vary == "each")}:
        for name in (*SUMMARY_FILES, *VARIANCE_FILES):  # a summary is only ever of the runs this command made
            (folder / name).unlink(missing_ok=True)
    share_identical_runs(root, studies)

    ###############
    # Train each run that is not finished (an interrupted one resumes from its checkpoint)
    ###############
    start = time.perf_counter()
    for vary, runs in studies.items():
        for run in runs:
            if (run.folder / FINISHED_MARKER).exists():
                logger.info("Seed %d (%s): finished, kept as it is", run.seed, run.folder)
                continue
            logger.info("Seed %d (%s): training", run.seed, run.folder)
            try:
                run_finetune.main(run.argv)
            except ProjectError as err:
                raise ProjectError(f"seed {run.seed} ({run.folder}): {err}") from None
            except Interrupted as stop:
                stop.where += f" in seed {run.seed} ({run.folder})"
                stop.resume = "rerun the same command to go on: finished runs are kept, this one resumes from its checkpoint"
                raise
    logger.info("All runs finished; %.0f s of training and evaluation in this call", time.perf_counter() - start)

    ###############
    # Summaries: each study's spread and verdict; with --vary each, the sources side by side
    ###############
    model_args, _, _ = run_finetune.parse_args(studies[next(iter(studies))][0].argv)
    name = model_args.model_name_or_path
    model = base_model_id(name, base_model_card(name)) or Path(name).name
    summaries = {}
    for vary, runs in studies.items():
        folder = runs[0].folder.parent
        line = write_summary(folder, {run.seed: run.folder for run in runs}, vary, model)
        summaries[vary] = json.loads((folder / "seeds.json").read_text())["metrics"]
        print(f"\n{(folder / 'seeds.md').read_text()}\nSummary in {folder}/ (seeds.json, seeds.md, seeds.csv, seeds.png)")
        logger.info(line)
    if study.vary == "each":
        print("\n" + write_variance(root, summaries) + f"\nSide by side in {root}/variance.md")


if __name__ == "__main__":
    exit_in_one_line(main, "run_seeds.py")
