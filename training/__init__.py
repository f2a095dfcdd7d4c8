"""Training a run: its arguments and recipes, its data, model and Trainer, and `train()`, which takes a run from its
arguments to a finished run folder. `run_finetune.py` is its command line; seed studies, searches and benchmarks
call it with argument objects (`dataclasses.replace`)."""

from .arguments import DataArguments, DistillationArguments, FinetuneArguments, ModelArguments
from .data import load_splits, tokenize_splits
from .model import check_model_source, load_model, load_model_and_tokenizer
from .recipes import parse_args, read_recipe
from .run import Run, Setup, evaluate_splits, fit, predict_unlabelled, setup, train, write_reports
from .trainer import OrderedEvaluationTrainer, build_trainer

__all__ = [
    "DataArguments",
    "DistillationArguments",
    "FinetuneArguments",
    "ModelArguments",
    "OrderedEvaluationTrainer",
    "Run",
    "Setup",
    "build_trainer",
    "check_model_source",
    "evaluate_splits",
    "fit",
    "load_model",
    "load_model_and_tokenizer",
    "load_splits",
    "parse_args",
    "predict_unlabelled",
    "read_recipe",
    "setup",
    "tokenize_splits",
    "train",
    "write_reports",
]
