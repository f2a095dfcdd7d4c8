#!/usr/bin/env python
"""Fine-tune a pretrained encoder for SST-2 sentiment, reproducing the reference notebook with `Trainer`.

    python run_finetune.py                                   # the notebook recipe (recipes/notebook.yaml)
    python run_finetune.py --config RECIPE --num_train_epochs 2 --model_name_or_path PATH
    accelerate launch run_finetune.py --config RECIPE

The recipe file supplies defaults; flags given on the command line override them.
"""

import argparse
import logging
import os
import shutil
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

import evaluate
import torch
import transformers
import yaml
from huggingface_hub import get_token
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)

from sst_data import LABEL_NAMES, SSTDataError, load_sst2, notebook_sample, tokenize
from training_report import (
    FINISHED_MARKER,
    NOTEBOOK_ACCURACY,
    SPLIT_NAMES,
    EpochTimer,
    PushError,
    epoch_table,
    is_complete_checkpoint,
    last_complete_checkpoint,
    plot_epochs,
    push_run,
    run_training_loss,
    save_results,
    to_markdown,
    write_epoch_table,
    write_evaluation_report,
    write_model_card,
    write_split_evaluation,
)

HERE = Path(__file__).resolve().parent
DEFAULT_RECIPE = HERE / "recipes" / "notebook.yaml"
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")  # one file, or shards
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model")
logger = logging.getLogger("run_finetune")


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        default="distilbert-base-uncased",
        metadata={"help": "Hub model id or local folder (config.json, tokenizer files, model.safetensors)."},
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Run the model's own Python code from its folder or Hub repo; off unless you trust it."},
    )


@dataclass
class DataArguments:
    data_dir: str = field(
        default="data/sst2",
        metadata={"help": "Folder holding train.tsv (review<TAB>label); dev.tsv and test.tsv are evaluated when present."},
    )
    text_column: str = field(default="review", metadata={"help": "Header name of the review column (GLUE: sentence)."})
    label_column: str = field(
        default="label", metadata={"help": "Header name of the label column; labels negative/positive or 0/1."}
    )
    sample_fraction: float = field(
        default=0.5, metadata={"help": "Fraction of train.tsv sampled, as the notebook's df.sample(frac=...)."}
    )
    sample_seed: int = field(default=42, metadata={"help": "random_state of that sample (the notebook's: 42)."})
    validation_fraction: float = field(
        default=0.3, metadata={"help": "Fraction of the sample held out for per-epoch validation (split seeded by --seed)."}
    )
    max_length: int = field(default=80, metadata={"help": "Truncate every review to this many tokens."})
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
        if self.max_length < 1:
            raise ValueError(f"--max_length {self.max_length}: must be at least 1 (and at most the model's limit)")


@dataclass
class FinetuneArguments(TrainingArguments):
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Replace a finished run (and its checkpoints) in --output_dir."}
    )
    push_to_hub_dry_run: bool = field(
        default=False,
        metadata={"help": "Assemble and list what --push_to_hub would upload (output_dir/hub_upload); no network."},
    )
    gpu_mode: str = field(
        default="auto",
        metadata={
            "help": "'auto': on a CUDA GPU set bf16 autocast, TF32 matmuls, fused AdamW and no per-step NaN check "
            "(a host sync); on a CPU change nothing. 'on': the same, and fail without a GPU. 'off': flags as given.",
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
        on_gpu = torch.cuda.is_available() and not self.use_cpu
        if self.gpu_mode == "on" and not on_gpu:
            raise ValueError("--gpu_mode on: no CUDA GPU is visible; use --gpu_mode auto (CPU settings) or off")
        if self.gpu_mode != "off" and on_gpu:
            self.bf16, self.tf32, self.optim, self.logging_nan_inf_filter = True, True, "adamw_torch_fused", False
        if not torch.cuda.is_available():
            self.dataloader_pin_memory = False  # pinned memory only speeds copies to a GPU; torch warns without one
        super().__post_init__()


def read_recipe(path: Path, known: set[str], parser: HfArgumentParser) -> dict:
    """A recipe's settings; a `base: other.yaml` (relative to the recipe) is read first and overridden."""
    recipe = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not isinstance(recipe, dict):
        parser.error(f"--config {path}: not a YAML mapping of argument names to values")
    base = recipe.pop("base", None)
    for key in recipe:
        if key not in known:
            parser.error(f"--config {path}: unknown key '{key}'; keys are the flags of --help, without '--'")
    return (read_recipe(path.parent / base, known, parser) if base else {}) | recipe


def parse_args(argv=None) -> tuple[ModelArguments, DataArguments, FinetuneArguments]:
    config_parser = argparse.ArgumentParser(add_help=False)
    config_parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    config, argv = config_parser.parse_known_args(argv)
    dataclass_types = (ModelArguments, DataArguments, FinetuneArguments)
    parser = HfArgumentParser(dataclass_types, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE, help="Recipe YAML supplying the defaults.")

    known = {f.name for dataclass_type in dataclass_types for f in fields(dataclass_type) if f.init}
    parser.set_defaults(**read_recipe(config.config, known, parser))
    try:
        *arguments, _ = parser.parse_args_into_dataclasses(argv, look_for_args_file=False)  # last: --config
    except ValueError as err:  # the dataclasses' own checks, ours and TrainingArguments'
        parser.error(" ".join(str(err).split()))
    training_args = arguments[-1]
    if training_args.hub_token:
        parser.error("--hub_token would be saved with the run's arguments; set HF_TOKEN or run `hf auth login` instead")
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > training_args.world_size:  # e.g. torchrun on a machine without GPUs, no --use_cpu
        parser.error(f"launched as {launched} processes that did not join one group; "
                     "without GPUs pass --use_cpu so they train together over gloo")  # fmt: skip
    if training_args.push_to_hub and not training_args.push_to_hub_dry_run and get_token() is None:
        parser.error("--push_to_hub: no Hugging Face token; set HF_TOKEN or run `hf auth login` (or --push_to_hub_dry_run)")
    return tuple(arguments)


def checkpoint_to_resume(args: FinetuneArguments) -> str | None:
    """Resume an unfinished run in --output_dir; refuse to overwrite a finished one unless asked."""
    output_dir = Path(args.output_dir)
    if args.resume_from_checkpoint:
        if args.overwrite_output_dir:
            raise SystemExit(
                "--resume_from_checkpoint continues a run, --overwrite_output_dir starts over: pass one of them"
            )
        if not is_complete_checkpoint(args.resume_from_checkpoint):
            raise SystemExit(
                f"--resume_from_checkpoint {args.resume_from_checkpoint}: not a complete checkpoint; "
                "pass a checkpoint-N folder holding trainer_state.json, or omit the flag to resume from the newest"
            )
        return args.resume_from_checkpoint
    if not output_dir.is_dir() or not any(output_dir.iterdir()):
        return None
    if args.overwrite_output_dir:
        # Stale checkpoints would be taken for the newest by checkpoint rotation, and a stale marker
        # would pass this run off as finished if it is cut off: remove both.
        for stale in output_dir.glob("checkpoint-*"):
            shutil.rmtree(stale)
        (output_dir / FINISHED_MARKER).unlink(missing_ok=True)
        return None
    if (output_dir / FINISHED_MARKER).exists():
        raise SystemExit(
            f"--output_dir {output_dir} holds a finished run; pass --overwrite_output_dir to replace it "
            "(make: ARGS=--overwrite_output_dir) or choose another --output_dir"
        )
    last = last_complete_checkpoint(output_dir)
    if last is None:
        raise SystemExit(
            f"--output_dir {output_dir} is not empty and holds no complete checkpoint to resume; "
            "pass --overwrite_output_dir or choose another --output_dir"
        )
    logger.info("Resuming the unfinished run from %s", last)
    return str(last)


def load_model_and_tokenizer(name: str, trust_remote_code: bool = False):
    folder = Path(name)
    if folder.is_dir() and not any((folder / f).is_file() for f in SAFETENSORS_FILES):
        raise SystemExit(
            f"--model_name_or_path {name}: no model.safetensors; weights load from safetensors only "
            "(a pickled pytorch_model.bin can run code): convert them with model.save_pretrained(folder)"
        )
    # A folder without a vocabulary still "loads", as an empty tokenizer mapping every word to [UNK].
    if folder.is_dir() and not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise SystemExit(
            f"--model_name_or_path {name}: no tokenizer ({' or '.join(TOKENIZER_FILES)}); "
            "pass a folder holding the tokenizer too (tokenizer.save_pretrained(folder))"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        model = AutoModelForSequenceClassification.from_pretrained(
            name,
            num_labels=len(LABEL_NAMES),
            id2label=dict(enumerate(LABEL_NAMES)),
            label2id={label: i for i, label in enumerate(LABEL_NAMES)},
            # transformers 5 keeps a checkpoint's stored dtype; train in fp32, mixed precision is the Trainer's job.
            dtype=torch.float32,
            use_safetensors=True,  # never unpickle a pytorch_model.bin: pickles can run code
            trust_remote_code=trust_remote_code,
        )
    except ValueError as err:
        if "trust_remote_code" not in str(err):
            raise
        raise SystemExit(
            f"--model_name_or_path {name}: the model needs its own Python code to load, which is never run "
            "unless asked; pass --trust_remote_code if you trust that code"
        ) from None
    except OSError as err:
        if folder.is_dir():
            raise SystemExit(f"--model_name_or_path {name}: {str(err).splitlines()[0]}") from None
        raise SystemExit(
            f"--model_name_or_path {name}: not in the local Hugging Face cache and the Hub cannot be reached; "
            "connect once to cache it, or pass a local model folder (config.json, tokenizer, model.safetensors)"
        ) from None
    # The classification loss is a batch mean that ignores `num_items_in_batch`; the Trainer would otherwise scale
    # it up by the number of accumulation steps and devices (doubled gradients on 2 GPUs).
    model.accepts_loss_kwargs = False
    return model, tokenizer


def check_max_length(max_length: int, model, tokenizer) -> None:
    limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None) or max_length)
    if max_length > limit:
        raise SystemExit(f"--max_length {max_length}: above the model's limit of {limit} tokens; pass 1 to {limit}")


def main(argv=None) -> None:
    model_args, data_args, training_args = parse_args(argv)

    ###############
    # Setup logging
    ###############
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    logger.setLevel(logging.INFO if training_args.should_log else logging.WARNING)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    logger.info("Model %s, data %s, output %s", model_args, data_args, training_args.output_dir)

    with training_args.main_process_first(desc="output folder check"):  # only one process removes stale checkpoints
        checkpoint = checkpoint_to_resume(training_args)

    ###############
    # Load data: the notebook's half of train.tsv, split 70/30
    ###############
    raw = load_sst2(data_args.data_dir, text_column=data_args.text_column, label_column=data_args.label_column)
    sample = notebook_sample(raw["train"], data_args.sample_fraction, data_args.sample_seed)
    try:
        split = sample.train_test_split(test_size=data_args.validation_fraction, seed=training_args.seed)
    except ValueError as err:  # too few sampled rows for both sides
        raise SystemExit(
            f"--sample_fraction {data_args.sample_fraction}, "
            f"--validation_fraction {data_args.validation_fraction}: {err}"
        ) from None
    logger.info("%d sampled rows: %d train / %d validation", len(sample), len(split["train"]), len(split["test"]))

    ###############
    # Model and tokenizer
    ###############
    set_seed(training_args.seed)  # the new classification head's initialisation
    model, tokenizer = load_model_and_tokenizer(model_args.model_name_or_path, model_args.trust_remote_code)
    check_max_length(data_args.max_length, model, tokenizer)
    with training_args.main_process_first(desc="tokenization"):
        train_dataset = tokenize(split["train"], tokenizer, data_args.max_length)
        eval_dataset = tokenize(split["test"], tokenizer, data_args.max_length)
        # The official dev / test splits, when the data folder has them: evaluated once, after training.
        held_out = {name: tokenize(raw[name], tokenizer, data_args.max_length) for name in ("dev", "test") if name in raw}

    ###############
    # Train, validating after each epoch
    ###############
    classification = evaluate.load(str(HERE / "metrics" / "classification"))

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

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer, padding=data_args.padding, max_length=data_args.max_length),
        compute_metrics=compute_metrics,
        callbacks=[EpochTimer()],
    )
    try:
        train_result = trainer.train(resume_from_checkpoint=checkpoint)
    except Exception as err:  # disk full, out of memory, ...: the traceback goes to the log, the way out to stderr
        logger.exception("Training stopped")
        last = last_complete_checkpoint(training_args.output_dir)
        reason = " ".join(str(err).split())
        raise SystemExit(
            f"run_finetune.py: error: training stopped at step {trainer.state.global_step}: {reason}; "
            f"fix that and rerun the same command: it resumes from {last or 'the start (no complete checkpoint yet)'}"
        ) from None
    # Saved with the tokenizer: pipeline(..., truncation=True) and inference.predict then cut reviews like training.
    tokenizer.model_max_length = data_args.max_length
    trainer.save_model()  # model and tokenizer, safetensors

    ###############
    # Training metrics
    ###############
    metrics = train_result.metrics | {"train_samples": len(train_dataset)}
    # train() averages the loss over its own steps only; after a resume, the whole run's comes from the log history.
    metrics["train_loss"] = run_training_loss(trainer.state, metrics["train_loss"])
    trainer.log_metrics("train", metrics)

    ###############
    # Evaluate the final model: the held-out validation split (eval_*), then dev_* / test_*
    ###############
    output_dir = Path(training_args.output_dir)
    results, evaluations = {"train": metrics}, {}
    for prefix, dataset in {"eval": eval_dataset, **held_out}.items():
        output = trainer.predict(dataset, metric_key_prefix=prefix)
        split_metrics = output.metrics
        trainer.log_metrics(prefix, split_metrics)
        results[prefix] = split_metrics
        evaluations[prefix] = score(output.predictions, output.label_ids) | {
            "loss": split_metrics[f"{prefix}_loss"], "samples": split_metrics[f"{prefix}_samples"]
        }
        if trainer.is_world_process_zero():
            write_split_evaluation(output_dir, prefix, dataset["review"], output, evaluations[prefix], LABEL_NAMES)

    ###############
    # Write the results, the notebook's table, the card; print the summary
    ###############
    if trainer.is_world_process_zero():
        rows = epoch_table(trainer.state.log_history)
        write_epoch_table(rows, output_dir)
        plot_epochs(rows, output_dir / "training_curves.png")
        save_results(output_dir, trainer.state, results)  # all_results.json, last of them, marks the run finished
        print("\n" + to_markdown(rows))
        print(write_evaluation_report(evaluations, LABEL_NAMES, output_dir))
        print(
            f"Final validation accuracy: {evaluations['eval']['accuracy']:.4f} "
            f"(notebook, DistilBERT, {len(NOTEBOOK_ACCURACY)} epochs: {NOTEBOOK_ACCURACY[-1]:.3f})"
        )
        for prefix in held_out:
            print(f"{SPLIT_NAMES[prefix].capitalize()} accuracy: {evaluations[prefix]['accuracy']:.4f}")
        write_model_card(output_dir, model_args, data_args, training_args, sys.argv[1:] if argv is None else argv)
        print(f"Results in {output_dir}/")

    ###############
    # Publish: model, tokenizer, card, results, table and plots, from the main process
    ###############
    if trainer.is_world_process_zero() and (push_to_hub or training_args.push_to_hub_dry_run):
        push_run(training_args.output_dir, training_args.hub_model_id, training_args.hub_private_repo,
                 training_args.hub_revision, dry_run=training_args.push_to_hub_dry_run)  # fmt: skip


if __name__ == "__main__":
    try:
        main()
    except (SSTDataError, PushError) as err:
        raise SystemExit(f"run_finetune.py: error: {err}") from None
