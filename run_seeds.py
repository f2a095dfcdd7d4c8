#!/usr/bin/env python
"""Train one recipe once per seed and summarize the spread: does it reproduce the notebook's result?

    python run_seeds.py --seeds 42 43 44 45 46 --output_dir outputs/seeds --model_name_or_path M --data_dir D
    python run_seeds.py --seeds 42 43 44 --vary each --output_dir outputs/seeds-each --config recipes/fast.yaml
    make seeds SEEDS="42 43 44 45 46" VARY=all MODEL=M DATA_DIR=D OUTPUT_DIR=O RECIPE=R ARGS="..."

Three seeds, each with one job: --split_seed picks the validation rows (the notebook's split was unseeded),
--data_seed the order of the training batches, --seed the new head's initialisation and dropout. --vary names the
ones the study changes (the others stay at the recipe's): all, split, order or init; `each` runs a study for each of
split, order and init and puts their spreads side by side. Every other flag is a flag of run_finetune.py (with
--teacher, of run_distill.py: a study of students of that teacher). Each run
is an ordinary complete run in OUTPUT_DIR/seed-<N>/ (with --vary each: OUTPUT_DIR/<split|order|init>/seed-<N>/); the
summary goes to seeds.json, seeds.md, seeds.csv and seeds.png beside them. Rerun the same command after an
interruption: finished runs are kept, the interrupted one resumes, the rest run.
"""

import argparse
from pathlib import Path

from transformers import HfArgumentParser

from errors import exit_in_one_line, one_line_errors, setup_logging
from studies.plan import StudyPlan, check_owned_flags
from studies.seeds import StudyArguments, owned_flags, parse_seeds, plan_study, run_study
from training import DistillationArguments, FinetuneArguments, parse_args
from training.recipes import given_flags


def main(argv=None) -> None:
    parser = HfArgumentParser(StudyArguments, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    study, rest = one_line_errors(parser).parse_args_into_dataclasses(argv, return_remaining_strings=True)
    check_owned_flags(rest, owned_flags(study.vary))
    # With --teacher, a study of students: each run is run_distill.py's (one teacher: vary init or order, not the split).
    arguments = parse_args(rest, training_class=DistillationArguments if "teacher" in given_flags(rest) else FinetuneArguments)
    seeds = parse_seeds(study.seeds, arguments.training.seed)
    setup_logging()

    studies = plan_study(StudyPlan.checked(arguments), seeds, study.vary, Path(study.output_dir))  # checked before any starts
    run_study(studies, Path(study.output_dir))
    for runs in studies.values():
        folder = runs[0].folder.parent
        print(f"\n{(folder / 'seeds.md').read_text()}\nSummary in {folder}/ (seeds.json, seeds.md, seeds.csv, seeds.png)")
    if study.vary == "each":
        print(f"\n{(Path(study.output_dir) / 'variance.md').read_text()}\nSide by side in {study.output_dir}/variance.md")


if __name__ == "__main__":
    exit_in_one_line(main, "run_seeds.py")
