"""`train()`: from a run's arguments to a finished run folder, and what it measured. Built from parts a caller can use
alone: the data (`training.data`), the model (`training.model`), the Trainer (`training.trainer`), and below: fitting,
the final evaluation of every split, GLUE's unlabelled test file, and the reports that end with the finished marker."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset
from transformers import Trainer, set_seed

from errors import Interrupted, ProjectError, stop_on_signals
from modeling import label_names
from run_folder import (
    claim_output_dir,
    combined,
    last_complete_checkpoint,
    mark_finished,
    prepare_output_dir,
    write_atomic,
)
from sst_data import Data, Reviews, describe, tokenize_reviews
from training_report import (
    Split,
    card_inputs,
    epoch_table,
    plot_epochs,
    predictions_tsv,
    run_training_loss,
    score,
    split_names,
    to_markdown,
    write_epoch_table,
    write_evaluation_report,
    write_model_card,
    write_split_evaluation,
)

from .arguments import DistillationArguments, RunArguments
from .data import load_splits, tokenize_splits
from .distill import student_train_split, student_transfer
from .model import check_tokenizer, load_model
from .recipes import reproduce_flags
from .teacher import check_teacher
from .trainer import build_trainer

logger = logging.getLogger(__name__)
NO_CHECKPOINT = "the start (no complete checkpoint yet)"
SAMPLE_FOR_CHECKS = 256  # training reviews the tokenizer is checked on before training


@dataclass
class Run:
    """A finished run: its folder and what it measured."""

    output_dir: Path
    results: dict[str, dict]  # by split ("train", "eval", "dev", "test"): the metrics of all_results.json
    evaluations: dict[str, dict]  # by evaluated split: its scores (confusion matrix included), loss and rows
    splits: list[Split]  # the evaluated splits, in report order
    epochs: list[dict]  # the per-epoch table
    report: str  # evaluation.md
    notebook: bool  # trained on the reference notebook's own train.tsv: its results compare with the notebook's


def fit(trainer: Trainer, checkpoint: str | None, setup_runtime: float) -> dict:
    """Train (from `checkpoint` when resuming), validating after each epoch, and save the model and tokenizer; the
    training metrics. Ctrl-C or SIGTERM, or a failure (disk full, out of memory), end it in one line saying where to
    resume from; the traceback of a failure goes to the log."""
    output_dir = Path(trainer.args.output_dir)
    try:
        with stop_on_signals():
            train_result = trainer.train(resume_from_checkpoint=checkpoint)
    except Interrupted as stop:
        stop.where = f" at step {trainer.state.global_step}"
        stop.resume = f"rerun the same command to resume from {last_complete_checkpoint(output_dir) or NO_CHECKPOINT}"
        raise
    except Exception as err:
        logger.exception("Training stopped")
        raise ProjectError(
            f"training stopped at step {trainer.state.global_step}: {' '.join(str(err).split())}; fix that and rerun the "
            f"same command to resume from {last_complete_checkpoint(output_dir) or NO_CHECKPOINT}"
        ) from None
    trainer.save_model()  # model and tokenizer, safetensors
    # total_flos from the state: with --disable_tqdm, transformers' PrinterCallback pops it from train()'s metrics.
    metrics = train_result.metrics | {"train_samples": len(trainer.train_dataset), "total_flos": trainer.state.total_flos,
                                      "setup_runtime": round(setup_runtime, 4)}  # fmt: skip
    # train() averages the loss over its own steps only; after a resume, the whole run's comes from the log history.
    metrics["train_loss"] = run_training_loss(trainer.state, metrics["train_loss"])
    trainer.log_metrics("train", metrics)
    return metrics


def evaluate_splits(trainer: Trainer, tokenized: dict[str, Dataset], splits: list[Split], ordinal: bool = False) -> tuple[dict, dict]:
    """The final model on each split (validation: eval_*, then dev_* / test_*): the Trainer's metrics of each, and its
    scores with the confusion matrix; each split's confusion matrix and misclassified reviews are written as it goes."""
    results, evaluations = {}, {}
    names = label_names(trainer.model.config)
    for split in splits:
        dataset = tokenized[split.prefix]
        output = trainer.predict(dataset, metric_key_prefix=split.prefix)
        trainer.log_metrics(split.prefix, output.metrics)
        results[split.prefix] = output.metrics
        evaluations[split.prefix] = score(output.predictions, output.label_ids, names, ordinal) | {
            "loss": output.metrics[f"{split.prefix}_loss"]
        }
        if trainer.is_world_process_zero():
            write_split_evaluation(Path(trainer.args.output_dir), split, dataset["review"], output.predictions,
                                   output.label_ids, evaluations[split.prefix], names)  # fmt: skip
    return results, evaluations


def predict_unlabelled(trainer: Trainer, data: Data, max_length: int) -> None:
    """A test split without labels (GLUE's test.tsv, a test file or split without them): predicted into GLUE's
    submission layout (index<TAB>prediction), `test_predictions.tsv`."""
    if data.unlabelled is None:
        return
    texts = data.unlabelled["review"]
    encoded = tokenize_reviews(Dataset.from_dict({"review": texts}), trainer.processing_class, max_length)
    logits = trainer.predict(encoded.remove_columns("review")).predictions
    if trainer.is_world_process_zero():
        reviews = Reviews(data.where["test"], texts, None, data.unlabelled["index"])
        write_atomic(Path(trainer.args.output_dir) / "test_predictions.tsv",
                     predictions_tsv(reviews, logits, label_names(trainer.model.config)))  # fmt: skip
        logger.info("%s: %d unlabelled reviews predicted, in test_predictions.tsv", data.where["test"], len(texts))


def write_reports(trainer: Trainer, arguments: RunArguments, results: dict, evaluations: dict, splits: list[Split]) -> Run:
    """The per-epoch table and plot, evaluation.md, the model card, the Trainer's result files; all_results.json, which
    marks the run finished, last (main process only: the others return the same Run without writing)."""
    model_args, data_args = arguments.model, arguments.data
    output_dir = Path(trainer.args.output_dir)
    rows = epoch_table(trainer.state.log_history)
    source = describe(data_args)
    report = None
    if trainer.is_world_process_zero():
        names = label_names(trainer.model.config)
        write_epoch_table(rows, output_dir)
        plot_epochs(rows, output_dir / "training_curves.png", notebook=source["notebook"])
        report = write_evaluation_report(evaluations, {s.prefix: s for s in splits}, names, output_dir)
        flags = reproduce_flags(arguments)
        card = card_inputs(model_args, data_args, trainer.args, trainer.state, combined(results), splits, to_markdown(rows),
                           flags, names, source)  # fmt: skip
        write_model_card(output_dir, **card)
        for split, metrics in results.items():
            trainer.save_metrics(split, metrics, combined=False)
        trainer.save_state()
        mark_finished(output_dir, results)
    return Run(output_dir, results, evaluations, splits, rows, report, source["notebook"])


@dataclass
class Setup:
    """A run ready to train: its Trainer, the checkpoint it resumes from, its tokenized splits and their names."""

    trainer: Trainer
    checkpoint: str | None
    tokenized: dict[str, Dataset]
    splits: list[Split]  # the evaluated splits, in report order
    data: Data  # the checked source: its label names, where each split came from, a test split to predict
    runtime: float  # seconds: arguments, output folder, data, tokenization, model


def setup(arguments: RunArguments, validation_only: bool = False) -> Setup:
    """The output folder (start, resume its own unfinished run, or refuse in one line, before anything loads), the
    data, the model, the folder made once they have loaded, and the Trainer. `validation_only`: leave the official dev
    and test splits out (neither tokenized nor scored), as a hyperparameter search must."""
    started = time.perf_counter()
    model_args, data_args, training_args = arguments
    student = isinstance(training_args, DistillationArguments)
    if student:
        check_teacher(training_args.teacher)  # a missing or unfinished teacher, before its model counts in the settings
    main_process = training_args.process_index == 0
    with training_args.main_process_first(local=False, desc="output folder check"):
        checkpoint, settings = prepare_output_dir(model_args, data_args, training_args, main_process)
    splits, data = load_splits(data_args)
    if student:  # the teacher checked against the data, the transfer set taken and leak-guarded: before the folder is made
        transfer = student_transfer(splits, data, data_args, training_args)
    if validation_only:
        splits = {name: split for name, split in splits.items() if name in ("train", "eval")}
    set_seed(training_args.seed)  # the new classification head's initialisation
    model, tokenizer = load_model(model_args, data_args.max_length, data.label_names)
    check_tokenizer(model_args.model_name_or_path, model, tokenizer, splits["train"]["review"][:SAMPLE_FOR_CHECKS])
    with training_args.main_process_first(local=False, desc="output folder"):  # a refused run leaves no folder
        claim_output_dir(settings, training_args, main_process)
    if student:  # its training rows: the gold ones, its transfer set's, and the teacher's logits over both
        splits["train"] = student_train_split(splits["train"], transfer, training_args)
    tokenized = tokenize_splits(splits, tokenizer, data_args, training_args)
    trainer = build_trainer(model, tokenizer, tokenized, data_args, training_args)
    names = split_names(data_args.validation_fraction, data_args.validation_split, describe(data_args), data.where)
    evaluated = [names[prefix] for prefix in tokenized if prefix != "train"]
    return Setup(trainer, checkpoint, tokenized, evaluated, data, time.perf_counter() - started)


def train(arguments: RunArguments, validation_only: bool = False) -> Run:
    """One run, from its arguments (`training.parse_args`, or a study's `RunArguments.replace`) to a finished run
    folder: set up, fit, evaluate every split, predict GLUE's unlabelled test file, write the reports. With
    `validation_only` (a search's trials) only the validation split is scored: no dev_* / test_* metric or report,
    no test predictions."""
    run = setup(arguments, validation_only)
    train_metrics = fit(run.trainer, run.checkpoint, run.runtime)
    results, evaluations = evaluate_splits(run.trainer, run.tokenized, run.splits, arguments.data.ordinal_labels)
    if not validation_only:
        predict_unlabelled(run.trainer, run.data, arguments.data.max_length)
    return write_reports(run.trainer, arguments, {"train": train_metrics} | results, evaluations, run.splits)
