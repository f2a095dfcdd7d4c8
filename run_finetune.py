#!/usr/bin/env python
"""Fine-tune a pretrained encoder for SST-2 sentiment, reproducing the reference notebook with `Trainer`.

    python run_finetune.py                                   # the notebook recipe (recipes/notebook.yaml)
    python run_finetune.py --config RECIPE --num_train_epochs 2 --model_name_or_path PATH
    accelerate launch run_finetune.py --config RECIPE

The recipe supplies the settings; flags given on the command line override them.
"""

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import evaluate
import torch
import transformers
import yaml
from datasets import Dataset
from huggingface_hub import get_token
from huggingface_hub.utils import HFValidationError, validate_repo_id
from torch.utils.data import SequentialSampler
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)

from inference.inputs import read_input
from inference.outputs import predictions_tsv
from metrics import CLASSIFICATION
from modeling import CLS_ONLY_MODELS, cls_only_refusal, dropout_overrides, freeze_word_embeddings, last_layer_cls_only
from run_state import Interrupted, exit_in_one_line, last_complete_checkpoint, prepare_output_dir, stop_on_signals
from sst_data import (
    LABEL_NAMES,
    ProjectError,
    dev_split,
    load_sst2,
    longest_first,
    notebook_sample,
    notebook_split,
    tokenize_reviews,
    unlabelled_test,
)
from training_report import (
    NOTEBOOK_ACCURACY,
    EpochTimer,
    combined,
    epoch_table,
    plot_epochs,
    push_run,
    reproduce_command,
    run_training_loss,
    save_results,
    split_names,
    to_markdown,
    write_atomic,
    write_epoch_table,
    write_evaluation_report,
    write_model_card,
    write_split_evaluation,
)

HERE = Path(__file__).resolve().parent
DEFAULT_RECIPE = HERE / "recipes" / "notebook.yaml"
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")  # one file, or shards
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model")
REFUSED_FLAGS = ("do_train", "do_eval", "do_predict")  # this script always trains, validates and evaluates
logger = logging.getLogger("run_finetune")


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        metadata={"help": "Hub model id or local folder (config.json, tokenizer files, model.safetensors)."}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Run the model's own Python code from its folder or Hub repo; off unless you trust that code."},
    )
    last_layer_cls_only: bool = field(
        default=False,
        metadata={
            "help": "Compute the last layer at [CLS] only, the one position the classifier reads: the same logits, about "
            f"13%% fewer FLOPs in a 6-layer model, another random stream for dropout. For {' and '.join(CLS_ONLY_MODELS)}."
        },
    )
    dropout: float | None = field(
        default=None,
        metadata={
            "help": "Train with this probability in every dropout setting of the model's config (0: no dropout, about "
            "16–20%% less time a step on 2 CPU cores). Changes the math. Default: the model's own (0.1 for BERTs)."
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={
            "help": "Keep the pretrained word embeddings fixed (no gradient, no update): half of MiniLM's parameters, "
            "11–12%% less time a step on 2 CPU cores. Changes the math."
        },
    )

    def __post_init__(self):
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"--dropout {self.dropout}: must be in [0, 1)")


@dataclass
class DataArguments:
    data_dir: str = field(
        metadata={"help": "Folder holding train.tsv (review<TAB>label); dev.tsv and test.tsv are evaluated when present."}
    )
    sample_fraction: float = field(metadata={"help": "Fraction of train.tsv sampled, as the notebook's df.sample(frac=...)."})
    sample_seed: int = field(metadata={"help": "random_state of that sample (the notebook's: 42)."})
    validation_fraction: float = field(
        metadata={"help": "Fraction of the sample held out for per-epoch validation (with --validation_split sample)."}
    )
    split_seed: int = field(
        metadata={"help": "Seed of the train/validation split of the sample (the notebook's split was unseeded)."}
    )
    max_length: int = field(metadata={"help": "Truncate every review to this many tokens (special tokens included)."})
    validation_split: str = field(
        default="sample",
        metadata={
            "help": "Validate each epoch on 'sample': --validation_fraction of the sampled train.tsv, like the notebook; "
            "or on 'dev': the official dev.tsv, the whole sample then trains.",
            "choices": ["sample", "dev"],
        },
    )
    text_column: str = field(default="review", metadata={"help": "Header name of the review column (GLUE: sentence)."})
    label_column: str = field(
        default="label", metadata={"help": "Header name of the label column; labels negative/positive or 0/1."}
    )
    padding: str = field(
        default="longest",
        metadata={
            "help": "Pad each batch to its 'longest' review (same outputs, less work) or to 'max_length' like the notebook.",
            "choices": ["longest", "max_length"],
        },
    )

    def __post_init__(self):
        if not 0 < self.sample_fraction <= 1:
            raise ValueError(f"--sample_fraction {self.sample_fraction}: must be in (0, 1]")
        if not 0 < self.validation_fraction < 1:  # 1 would leave nothing to train on
            raise ValueError(f"--validation_fraction {self.validation_fraction}: must be in (0, 1)")
        if self.max_length < 3:  # [CLS] and [SEP] take two: at least one word
            raise ValueError(f"--max_length {self.max_length}: must be at least 3 (and at most the model's limit)")
        if self.text_column == self.label_column:
            raise ValueError(f"--text_column and --label_column are both '{self.text_column}': name two columns")


@dataclass
class FinetuneArguments(TrainingArguments):
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start over in --output_dir: remove every file an earlier run of this suite wrote there."},
    )
    push_to_hub_dry_run: bool = field(
        default=False,
        metadata={"help": "List what --push_to_hub would upload from --output_dir; no network."},
    )
    gpu_mode: str = field(
        default="off",
        metadata={
            "help": "'auto': on a CUDA GPU set bf16 autocast, TF32 matmuls, fused AdamW and no per-step NaN check "
            "(a host sync); on a CPU change nothing. 'on': the same, and fail without a GPU. 'off': flags as given "
            "(the notebook recipe: fp32 wherever it runs).",
            "choices": ["auto", "on", "off"],
        },
    )

    def __post_init__(self):
        # Checked here, before any data or model loads; torch would only fail at the first step, or never.
        if self.learning_rate <= 0:
            raise ValueError(f"--learning_rate {self.learning_rate}: must be > 0")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} {getattr(self, name)}: must be an integer >= 1")
        if self.num_train_epochs <= 0 and self.max_steps <= 0:
            raise ValueError(f"--num_train_epochs {self.num_train_epochs}: must be > 0 (or set --max_steps > 0)")
        for name in REFUSED_FLAGS:  # still as given: TrainingArguments sets do_eval itself below
            if getattr(self, name):
                raise ValueError(f"--{name}: this script always trains, validates each epoch and evaluates; drop the flag")
        on_gpu = torch.cuda.is_available() and not self.use_cpu
        if self.gpu_mode == "on" and not on_gpu:
            raise ValueError("--gpu_mode on: no CUDA GPU is visible; use --gpu_mode auto (CPU settings) or off")
        if self.gpu_mode != "off" and on_gpu:
            self.bf16, self.tf32, self.optim, self.logging_nan_inf_filter = True, True, "adamw_torch_fused", False
        if not torch.cuda.is_available():
            self.dataloader_pin_memory = False  # pinned memory only speeds copies to a GPU; torch warns without one
        super().__post_init__()


def find_recipe(path: Path) -> Path:
    """A recipe path as given, else relative to this script (the recipes travel with an installed package)."""
    for candidate in (path, HERE / path):
        if candidate.is_file():
            return candidate
    raise ProjectError(f"--config {path}: recipe file not found; pass a YAML file such as recipes/notebook.yaml")


def read_recipe(path: Path, known: set[str]) -> dict:
    """A recipe's settings; a `base: other.yaml` (relative to the recipe) is read first and overridden."""
    path = find_recipe(path)
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ProjectError(f"--config {path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(recipe, dict):
        raise ProjectError(f"--config {path}: not a YAML mapping of argument names to values")
    base = recipe.pop("base", None)
    for key in recipe:
        if key not in known:
            raise ProjectError(f"--config {path}: unknown key '{key}'; keys are the flags of --help, without '--'")
    return (read_recipe(path.parent / base, known) if base else {}) | recipe


def parse_args(argv=None) -> tuple[ModelArguments, DataArguments, FinetuneArguments]:
    config_parser = argparse.ArgumentParser(add_help=False)
    config_parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    config, _ = config_parser.parse_known_args(argv)
    dataclass_types = (ModelArguments, DataArguments, FinetuneArguments)
    parser = HfArgumentParser(dataclass_types, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE, help="Recipe YAML supplying the settings.")

    known = {f.name for dataclass_type in dataclass_types for f in fields(dataclass_type) if f.init}
    recipe = read_recipe(config.config, known)
    parser.set_defaults(**recipe)
    for action in parser._actions:  # a setting without a default is required unless the recipe states it
        action.required = action.required and action.dest not in recipe
        # argparse checks the choices of what is typed, not of defaults: a recipe's values are checked here.
        if action.choices and action.dest in recipe and recipe[action.dest] not in action.choices:
            raise ProjectError(f"--config {config.config}: {action.dest}: {recipe[action.dest]!r} is not one of "
                               f"{', '.join(map(str, action.choices))} (YAML reads a bare on/off/yes/no as true/false: quote it)")  # fmt: skip
    try:
        *arguments, _ = parser.parse_args_into_dataclasses(argv, look_for_args_file=False)  # last: --config
    except ValueError as err:  # the dataclasses' own checks, ours and TrainingArguments'
        raise ProjectError(" ".join(str(err).split())) from None
    training_args = arguments[-1]
    if training_args.hub_token:
        raise ProjectError("--hub_token would be saved with the run's arguments; set HF_TOKEN or run `hf auth login` instead")
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > training_args.world_size:  # e.g. torchrun on a machine without GPUs, no --use_cpu
        raise ProjectError(f"launched as {launched} processes that did not join one group; "
                           "without GPUs pass --use_cpu so they train together over gloo")  # fmt: skip
    if training_args.push_to_hub and not training_args.push_to_hub_dry_run and get_token() is None:
        raise ProjectError("--push_to_hub: no Hugging Face token; set HF_TOKEN or run `hf auth login` (or --push_to_hub_dry_run)")
    return tuple(arguments)


def load_model_and_tokenizer(name: str, trust_remote_code: bool = False, dropout: float | None = None):
    """The tokenizer and a classifier of `name` (a folder or Hub id) for SST-2's labels, in fp32; with `dropout`, that
    probability in every dropout setting of its config."""
    folder = Path(name)
    try:
        validate_repo_id(name)
    except HFValidationError:  # a path, not a Hub id: "folder not found" rather than blaming the Hub
        if not folder.is_dir():
            raise ProjectError(f"--model_name_or_path {name}: folder not found; pass a model folder or a Hub model id") from None
    if folder.is_dir() and not any((folder / f).is_file() for f in SAFETENSORS_FILES):
        raise ProjectError(
            f"--model_name_or_path {name}: no model.safetensors; weights load from safetensors only "
            "(a pickled pytorch_model.bin can run code): convert them with model.save_pretrained(folder)"
        )
    # A folder without a vocabulary still "loads", as an empty tokenizer mapping every word to [UNK].
    if folder.is_dir() and not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise ProjectError(
            f"--model_name_or_path {name}: no tokenizer ({' or '.join(TOKENIZER_FILES)}); "
            "pass a folder holding the tokenizer too (tokenizer.save_pretrained(folder))"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        overrides = {}
        if dropout is not None:
            config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
            if not (overrides := dropout_overrides(config, dropout)):
                raise ProjectError(f"--dropout: {name}'s config ({type(config).__name__}) has no dropout setting; drop the flag")
        model = AutoModelForSequenceClassification.from_pretrained(
            name,
            num_labels=len(LABEL_NAMES),
            id2label=dict(enumerate(LABEL_NAMES)),
            label2id={label: i for i, label in enumerate(LABEL_NAMES)},
            # transformers 5 keeps a checkpoint's stored dtype; train in fp32, mixed precision is the Trainer's job.
            dtype=torch.float32,
            use_safetensors=True,  # never unpickle a pytorch_model.bin: pickles can run code
            trust_remote_code=trust_remote_code,
            **overrides,
        )
    except ValueError as err:
        if "trust_remote_code" not in str(err):
            raise
        raise ProjectError(
            f"--model_name_or_path {name}: the model needs its own Python code to load, which is never run "
            "unless asked; pass --trust_remote_code if you trust that code"
        ) from None
    except OSError as err:
        if folder.is_dir():
            raise ProjectError(f"--model_name_or_path {name}: {str(err).splitlines()[0]}") from None
        raise ProjectError(
            f"--model_name_or_path {name}: no such folder, not in the local Hugging Face cache, and the Hub cannot be "
            "reached; connect once to cache it, or pass a local model folder (config.json, tokenizer, model.safetensors)"
        ) from None
    # The classification loss is a batch mean that ignores `num_items_in_batch`; the Trainer would otherwise scale
    # it up by the number of accumulation steps and devices (doubled gradients on 2 GPUs).
    model.accepts_loss_kwargs = False
    return model, tokenizer


class OrderedEvaluationTrainer(Trainer):
    """With group_by_length, transformers 5 also shuffles evaluation rows into length groups, and predictions would
    no longer line up with the reviews written beside them: evaluation reads rows in the dataset's order."""

    def _get_eval_sampler(self, eval_dataset):
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None  # >1: accelerate shards in order


def check_max_length(max_length: int, model, tokenizer) -> None:
    limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None) or max_length)
    if max_length > limit:
        raise ProjectError(f"--max_length {max_length}: above the model's limit of {limit} tokens; pass 3 to {limit}")


def main(argv=None) -> None:
    started = time.perf_counter()
    model_args, data_args, training_args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv

    ###############
    # Setup logging
    ###############
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    for name in ("run_finetune", "run_state"):
        logging.getLogger(name).setLevel(logging.INFO if training_args.should_log else logging.WARNING)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    logger.info("Model %s, data %s, output %s", model_args, data_args, training_args.output_dir)

    ###############
    # Output folder: start, resume this run's own checkpoint, or stop, before anything loads
    ###############
    with training_args.main_process_first(local=False, desc="output folder check"):
        checkpoint = prepare_output_dir(model_args, data_args, training_args, training_args.process_index == 0)

    ###############
    # Load data: the notebook's half of train.tsv, split 70/30 (or validated on the official dev split)
    ###############
    raw = load_sst2(data_args.data_dir, text_column=data_args.text_column, label_column=data_args.label_column)
    sample = notebook_sample(raw["train"], data_args.sample_fraction, data_args.sample_seed)
    if data_args.validation_split == "dev":
        if "dev" not in raw:
            raise ProjectError(f"--validation_split dev: {data_args.data_dir} holds no dev.tsv; add it or validate on the sample")
        split = dev_split(sample, raw.pop("dev"))  # evaluated as the validation split, not twice
    else:
        split = notebook_split(sample, data_args.validation_fraction, data_args.split_seed)
    logger.info("%d sampled rows: %d train / %d validation", len(sample), len(split["train"]), len(split["validation"]))

    ###############
    # Model and tokenizer
    ###############
    set_seed(training_args.seed)  # the new classification head's initialisation
    model, tokenizer = load_model_and_tokenizer(model_args.model_name_or_path, model_args.trust_remote_code,
                                                model_args.dropout)  # fmt: skip
    check_max_length(data_args.max_length, model, tokenizer)
    if model_args.last_layer_cls_only and not last_layer_cls_only(model):
        raise ProjectError(f"--last_layer_cls_only: {cls_only_refusal(model)}; pass --last_layer_cls_only false")
    if model_args.freeze_word_embeddings:
        logger.info("Word embeddings frozen: %d of %d parameters", freeze_word_embeddings(model), model.num_parameters())
    # The validation split, then the official dev / test splits when the data folder has them.
    evaluated = {"eval": split["validation"]} | {prefix: raw[prefix] for prefix in ("dev", "test") if prefix in raw}
    with training_args.main_process_first(desc="tokenization"):
        train_dataset = tokenize_reviews(split["train"], tokenizer, data_args.max_length)
        evaluated = {prefix: tokenize_reviews(data, tokenizer, data_args.max_length) for prefix, data in evaluated.items()}
    if training_args.train_sampling_strategy == "group_by_length":  # evaluation batches of similar length, too
        evaluated = {prefix: longest_first(data) for prefix, data in evaluated.items()}
    splits = [split_names(data_args.validation_fraction, data_args.validation_split)[prefix] for prefix in evaluated]

    ###############
    # Train, validating after each epoch
    ###############
    classification = evaluate.load(CLASSIFICATION)

    def score(predictions, label_ids) -> dict:
        return classification.compute(predictions=predictions.argmax(-1), references=label_ids, label_names=LABEL_NAMES)

    def compute_metrics(eval_pred):
        # Scalars only: the confusion matrix would break log_metrics and tensorboard; the report files hold it.
        # `samples` counts the rows scored after gathering from every process (duplicated padding rows dropped).
        scores = score(eval_pred.predictions, eval_pred.label_ids)
        return {k: v for k, v in scores.items() if k != "confusion_matrix"} | {"samples": len(eval_pred.label_ids)}

    # A Trainer with push_to_hub=True creates the Hub repo at init, before training, and writes its own card
    # over ours when pushing: publish once the run is written instead (end of main).
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False

    trainer = OrderedEvaluationTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=evaluated["eval"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer, padding=data_args.padding, max_length=data_args.max_length),
        compute_metrics=compute_metrics,
        callbacks=[EpochTimer()],
    )
    output_dir = Path(training_args.output_dir)
    resume = f"rerun the same command to resume from {{}}: {reproduce_command(argv, training_args.world_size, __file__)}"
    setup_runtime = time.perf_counter() - started  # arguments, data, tokenization, model: all before the first step
    try:
        with stop_on_signals():
            train_result = trainer.train(resume_from_checkpoint=checkpoint)
    except Interrupted as stop:
        last = last_complete_checkpoint(output_dir) or "the start (no complete checkpoint yet)"
        stop.where, stop.resume = f" at step {trainer.state.global_step}", resume.format(last)
        raise
    except Exception as err:  # disk full, out of memory, ...: the traceback goes to the log, the way out to stderr
        logger.exception("Training stopped")
        last = last_complete_checkpoint(output_dir) or "the start (no complete checkpoint yet)"
        reason = " ".join(str(err).split())
        raise ProjectError(f"training stopped at step {trainer.state.global_step}: {reason}; fix that and "
                           f"{resume.format(last)}") from None  # fmt: skip
    # Saved with the tokenizer: pipeline(..., truncation=True) and inference.predict then cut reviews like training.
    tokenizer.model_max_length = data_args.max_length
    trainer.save_model()  # model and tokenizer, safetensors

    ###############
    # Training metrics
    ###############
    # total_flos from the state: with --disable_tqdm, transformers' PrinterCallback pops it from train()'s metrics.
    metrics = train_result.metrics | {"train_samples": len(train_dataset), "total_flos": trainer.state.total_flos,
                                      "setup_runtime": round(setup_runtime, 4)}  # fmt: skip
    # train() averages the loss over its own steps only; after a resume, the whole run's comes from the log history.
    metrics["train_loss"] = run_training_loss(trainer.state, metrics["train_loss"])
    trainer.log_metrics("train", metrics)

    ###############
    # Evaluate the final model on each split: validation (eval_*), then dev_* / test_*
    ###############
    results, evaluations = {"train": metrics}, {}
    for split_name in splits:
        dataset = evaluated[split_name.prefix]
        output = trainer.predict(dataset, metric_key_prefix=split_name.prefix)
        trainer.log_metrics(split_name.prefix, output.metrics)
        results[split_name.prefix] = output.metrics
        evaluations[split_name.prefix] = score(output.predictions, output.label_ids) | {
            "loss": output.metrics[f"{split_name.prefix}_loss"], "samples": output.metrics[f"{split_name.prefix}_samples"]
        }
        if trainer.is_world_process_zero():
            write_split_evaluation(output_dir, split_name, dataset["review"], output, evaluations[split_name.prefix], LABEL_NAMES)

    ###############
    # GLUE's unlabelled test.tsv: predicted into GLUE's submission layout (index<TAB>prediction)
    ###############
    glue_test = unlabelled_test(data_args.data_dir, data_args.label_column)
    if glue_test:
        reviews = read_input(str(glue_test), data_args.text_column, data_args.label_column)
        encoded = tokenize_reviews(Dataset.from_dict({"review": reviews.texts}), tokenizer, data_args.max_length)
        logits = trainer.predict(encoded.remove_columns("review")).predictions
        if trainer.is_world_process_zero():
            write_atomic(output_dir / "test_predictions.tsv", predictions_tsv(reviews, logits, LABEL_NAMES))
            logger.info("%s: %d unlabelled reviews predicted, in test_predictions.tsv", glue_test, len(reviews.texts))

    ###############
    # Write the table, plot, report and card; all_results.json, which marks the run finished, last
    ###############
    if trainer.is_world_process_zero():
        rows = epoch_table(trainer.state.log_history)
        write_epoch_table(rows, output_dir)
        plot_epochs(rows, output_dir / "training_curves.png")
        report = write_evaluation_report(evaluations, {s.prefix: s for s in splits}, LABEL_NAMES, output_dir)
        write_model_card(output_dir, model_args, data_args, training_args, combined(results), splits, to_markdown(rows), argv)
        save_results(trainer, results)
        print("\n" + to_markdown(rows))
        print(report)
        print(
            f"Final validation accuracy: {evaluations['eval']['accuracy']:.4f} "
            f"(notebook, DistilBERT, {len(NOTEBOOK_ACCURACY)} epochs: {NOTEBOOK_ACCURACY[-1]:.3f})"
        )
        for split_name in splits[1:]:
            print(f"{split_name.title.capitalize()} accuracy: {evaluations[split_name.prefix]['accuracy']:.4f}")
        print(f"Results in {output_dir}/")

    ###############
    # Publish: model, tokenizer, card, results, table and plots, from the main process
    ###############
    if trainer.is_world_process_zero() and (push_to_hub or training_args.push_to_hub_dry_run):
        push_run(output_dir, training_args.hub_model_id, training_args.hub_private_repo,
                 training_args.hub_revision, dry_run=training_args.push_to_hub_dry_run)  # fmt: skip


if __name__ == "__main__":
    exit_in_one_line(main, "run_finetune.py")
