#!/usr/bin/env python
"""Distil a finished run (the teacher) into a student: the student trains on its training rows' gold labels and on
the teacher's soft labels over those rows and a transfer set, with the loss
alpha * CE(gold) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T)).

    python run_distill.py --teacher outputs/mpnet --model_name_or_path STUDENT --data_dir D --output_dir O
    python run_distill.py --config recipes/distill.yaml --teacher T --transfer unused_sample --alpha 0.5 --temperature 2
    make distill TEACHER=outputs/mpnet MODEL=STUDENT OUTPUT_DIR=O ARGS="..."

Every flag of run_finetune.py works here too. The teacher's logits are computed once and cached in the teacher's
folder (teacher_logits/); the student is an ordinary run folder with distillation.json beside its results.
"""

import json

import training
from errors import exit_in_one_line, setup_logging


def main(argv=None) -> None:
    arguments = training.parse_args(argv, description=__doc__, training_class=training.DistillationArguments)
    training_args = arguments.training
    from run_folder import DISTILLATION_FILE  # as run_finetune.py: a refused argument is said before the libraries load

    setup_logging(training_args.should_log, training_args.get_process_log_level())
    run = training.train(arguments)
    if training_args.process_index != 0:  # another process of a multi-process run: the main one reports
        return

    print(run.report)
    distillation = json.loads((run.output_dir / DISTILLATION_FILE).read_text())
    teacher, transfer = distillation["teacher"], distillation["transfer"]
    for split in run.splits:
        ours, theirs = run.evaluations[split.prefix]["accuracy"], teacher.get(f"{split.prefix}_accuracy")
        print(f"{split.title.capitalize()} accuracy: {ours:.4f}" + (f" (the teacher's: {theirs:.4f})" if theirs else ""))
    print(f"Transfer set: {transfer['used']} texts used of {transfer['given']} given ({transfer['duplicates']} duplicates, "
          f"{transfer['dropped_as_leaks']} found in an evaluated split, dropped); in distillation.json")  # fmt: skip
    print(f"Results in {run.output_dir}/")


if __name__ == "__main__":
    exit_in_one_line(main, "run_distill.py")
