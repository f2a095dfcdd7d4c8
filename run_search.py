#!/usr/bin/env python
"""Search a recipe's hyperparameters on Optuna and report what the budget bought: the expected best validation
accuracy after n trials (Dodge et al. 2019) with its band, the winner confirmed over seeds, the notebook's 0.881.

    python run_search.py --trials 20 --output_dir outputs/search --config recipes/fast.yaml --model_name_or_path M
    python run_search.py --trials 20 --storage postgresql://user@host:5432/db --output_dir outputs/search ...
    make search TRIALS=20 SPACE=recipes/search/notebook.yaml STORAGE=URL SEEDS="43 44 45 46 47"|none SAMPLER=random|tpe
                RECIPE=R MODEL=M DATA_DIR=D OUTPUT_DIR=O BASELINE=seeds.json ARGS="..."

Each trial is an ordinary run of run_finetune.py's recipe with the space's flags drawn (--space: a YAML file of flag →
distribution), in OUTPUT_DIR/trial-<number>/, scored on its validation split only (dev and test are never scored by a
trial). The same command started again, in another terminal, or on other machines with the same --storage, joins the
same study: finished trials are kept, a trial whose worker died is failed and its configuration queued again (its
run resumes), and the study ends with exactly --trials complete trials. Then the best configuration is confirmed by a
seed study in OUTPUT_DIR/confirmation/ (--seeds none skips it) and the report goes to OUTPUT_DIR/: search.json,
search.md, trials.csv, expected_best.png, importances.png, slice.png. Every other flag is a flag of run_finetune.py.
"""

import argparse
from pathlib import Path

from transformers import HfArgumentParser

from errors import exit_in_one_line, one_line_errors, setup_logging
from studies.plan import check_owned_flags
from studies.search import OWNED, SearchArguments, plan_search, run_search
from training import parse_args


def main(argv=None) -> None:
    parser = HfArgumentParser(
        SearchArguments, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    search_args, rest = one_line_errors(parser).parse_args_into_dataclasses(argv, return_remaining_strings=True)
    check_owned_flags(rest, OWNED)
    arguments = parse_args(rest)
    search = plan_search(search_args, arguments, rest)  # every input checked before anything is written
    setup_logging()

    record = run_search(search)
    if record is None:
        print(
            f"\nThis worker's trials are done; the report is written into {search.output_dir}/ by another worker "
            "(named above), which ran the search's last trial."
        )
        return
    print(f"\n{(Path(search.output_dir) / 'search.md').read_text()}")
    print(
        f"Report in {search.output_dir}/ (search.json, search.md, trials.csv, expected_best.png, importances.png, slice.png)"
    )


if __name__ == "__main__":
    exit_in_one_line(main, "run_search.py")
