#!/usr/bin/env python
"""Fine-tune a pretrained encoder as a text classifier with `Trainer`: the reference notebook's SST-2 sentiment by default,
or any labelled text (a data folder, --train_file, --dataset_name; docs/your-data.md).

    python run_finetune.py                                   # the notebook recipe (recipes/notebook.yaml)
    python run_finetune.py --config RECIPE --num_train_epochs 2 --model_name_or_path PATH
    accelerate launch run_finetune.py --config RECIPE

The recipe supplies the settings; flags given on the command line override them.
"""

import training
from errors import exit_in_one_line, setup_logging


def main(argv=None) -> None:
    arguments = training.parse_args(argv, description=__doc__)
    training_args = arguments.training
    # Only now the model code, the data library and the Trainer: a refused argument was said before they loaded.
    from training_report import NOTEBOOK_ACCURACY, push_run, to_markdown

    setup_logging(training_args.should_log, training_args.get_process_log_level())
    run = training.train(arguments)
    if training_args.process_index != 0:  # another process of a multi-process run: the main one reports
        return

    print("\n" + to_markdown(run.epochs))
    print(run.report)
    final = run.evaluations["eval"]["accuracy"]
    notebook = f" (notebook, DistilBERT, {len(NOTEBOOK_ACCURACY)} epochs: {NOTEBOOK_ACCURACY[-1]:.3f})" if run.notebook else ""
    print(f"Final validation accuracy: {final:.4f}{notebook}")
    for split in run.splits[1:]:
        print(f"{split.title.capitalize()} accuracy: {run.evaluations[split.prefix]['accuracy']:.4f}")
    print(f"Results in {run.output_dir}/")

    if training_args.push_to_hub or training_args.push_to_hub_dry_run:  # the model, tokenizer, card, results and plots
        push_run(run.output_dir, training_args.hub_model_id, training_args.hub_private_repo, training_args.hub_revision,
                 dry_run=training_args.push_to_hub_dry_run)  # fmt: skip


if __name__ == "__main__":
    exit_in_one_line(main, "run_finetune.py")
