"""Training a run: its arguments and recipes, its data, model and Trainer, and `train()`, which takes a run from its
arguments to a finished run folder. `run_finetune.py` is its command line; seed studies, searches and benchmarks
call it with a `RunArguments` (`parse_args`, `RunArguments.replace`)."""

from importlib import import_module

# Each name's module, imported on first use (PEP 562): `parse_args` needs neither the model code, the data library nor
# the Trainer, so that a refused argument is said before they load.
EXPORTS = {
    "DataArguments": "arguments", "DistillationArguments": "arguments", "FinetuneArguments": "arguments",
    "ModelArguments": "arguments", "RunArguments": "arguments",
    "load_splits": "data", "tokenize_splits": "data",
    "check_model_source": "model", "load_model": "model", "load_model_and_tokenizer": "model",
    "parse_args": "recipes", "read_recipe": "recipes",
    "Run": "run", "Setup": "run", "evaluate_splits": "run", "fit": "run", "predict_unlabelled": "run", "setup": "run",
    "train": "run", "write_reports": "run",
    "OrderedEvaluationTrainer": "ordered", "build_trainer": "trainer",
}  # fmt: skip
__all__ = list(EXPORTS)


def __getattr__(name: str):
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{EXPORTS[name]}"), name)
