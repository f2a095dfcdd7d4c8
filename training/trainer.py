"""The Trainer a run uses: transformers' own, with the notebook recipe's collator, metrics and per-epoch timing."""

import copy
import functools

from transformers import DataCollatorWithPadding, Trainer

from modeling import label_names
from training_report import EpochTimer, score

from .arguments import DistillationArguments
from .ordered import OrderedEvaluationTrainer


def compute_metrics(eval_pred, label_names: list[str], ordinal: bool = False) -> dict:
    """The per-epoch validation's scores: scalars only (the confusion matrix would break log_metrics and tensorboard;
    the report files hold it). `samples` counts the rows scored after gathering from every process."""
    scores = score(eval_pred.predictions, eval_pred.label_ids, label_names, ordinal)
    return {key: value for key, value in scores.items() if key != "confusion_matrix"}


def build_trainer(model, tokenizer, tokenized: dict, data_args, training_args) -> Trainer:
    """A Trainer over the tokenized splits ("train" trains, "eval" validates each epoch). It never pushes: with
    push_to_hub it would create the Hub repo before training and write its own card over the run's; the run is
    published once written (training_report.push_run)."""
    if training_args.push_to_hub:  # a copy: building new arguments would set up this process's devices again
        training_args = copy.copy(training_args)
        training_args.push_to_hub = False
    trainer_class = OrderedEvaluationTrainer
    if training_args.fill_last_batch or training_args.cuda_graph_step:  # one batch shape: training/static_shapes.py
        from .static_shapes import static_shape_trainer  # here: it needs CUDA graphs' code only when asked for

        trainer_class = static_shape_trainer(data_args, training_args)
    if isinstance(training_args, DistillationArguments):  # a student, trained against its teacher's logits
        from .distill import DistillationTrainer  # here: a student's code loads only for a student

        trainer_class = DistillationTrainer
    return trainer_class(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["eval"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer, padding=data_args.padding, max_length=data_args.max_length),
        compute_metrics=functools.partial(compute_metrics, label_names=label_names(model.config),
                                          ordinal=data_args.ordinal_labels),
        callbacks=[EpochTimer()],
    )
