"""What defines a run's result: the model's weights, the data's bytes, and every argument that changes the math.

Recorded in the output folder when a run starts, so that a rerun into that folder resumes only the run it
would itself have trained.
"""

import fnmatch
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from modeling import check_model_source
from sst_data import source_fingerprint

from .files import MODEL_FOLDER_PATTERNS

# The arguments that change the trained weights or the reported metrics: the project's own, and the TrainingArguments
# fields that do (an allow-list: a field a new transformers release adds counts only once someone has classified it,
# and tests/test_run_folder.py fails until then). Paths, logging, reporting, checkpoint cadence and evaluation
# batching are left out: they change where and how results are written, not what they are.
RESULT_DEFINING = {
    # model and data (the model's and data's identity are their files' sha256, below)
    "last_layer_cls_only", "dropout", "freeze_word_embeddings", "sample_fraction", "sample_seed", "validation_fraction",
    "split_seed", "max_length", "validation_split", "text_column", "label_column", "padding", "ordinal_labels",
    # the optimisation
    "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs", "max_steps", "learning_rate",
    "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "optim", "optim_args", "optim_target_modules",
    "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "label_smoothing_factor",
    "average_tokens_across_devices", "neftune_noise_alpha", "auto_find_batch_size",
    # the arithmetic: precision, compilation, kernels, memory trades that may reorder sums
    "bf16", "fp16", "bf16_full_eval", "fp16_full_eval", "tf32", "torch_compile", "torch_compile_backend",
    "torch_compile_mode", "use_liger_kernel", "liger_kernel_config", "activation_checkpointing",
    "activation_checkpointing_kwargs", "gradient_checkpointing", "gradient_checkpointing_kwargs", "use_cache",
    "fill_last_batch", "cuda_graph_step",
    # randomness, batches and their order
    "seed", "data_seed", "full_determinism", "train_sampling_strategy", "length_column_name", "dataloader_drop_last",
    "dataloader_in_order", "ignore_data_skip", "restore_callback_states_from_checkpoint", "remove_unused_columns",
    "label_names",
    # what is reported as the result
    "prediction_loss_only", "include_for_metrics", "load_best_model_at_end", "metric_for_best_model", "greater_is_better",
    # where and how the processes train
    "use_cpu", "accelerator_config", "parallelism_config", "ddp_find_unused_parameters", "ddp_bucket_cap_mb",
    "ddp_broadcast_buffers", "ddp_static_graph", "ddp_backend", "fsdp", "fsdp_config", "deepspeed",
    # a distillation's loss and transfer set (its teacher and transfer file count by their files' sha256, below)
    "alpha", "temperature", "transfer", "augment_copies", "augment_seed",
}  # fmt: skip


# What a record holds beside the arguments: the model's and the data's identity, and the number of processes.
IDENTITIES = {"model", "model_sha256", "data_sha256", "world_size", "teacher_sha256", "transfer_file_sha256"}

# Result-defining settings added after runs were recorded, and the value a record without them ran with. (Runs of
# a local model recorded before its tokenizer counted in model_sha256 differ there anyway: another identity.)
ADDED_SETTINGS = {"last_layer_cls_only": False, "dropout": None, "freeze_word_embeddings": False, "fill_last_batch": False,
                  "cuda_graph_step": False, "ordinal_labels": False, "label_names": None}


def read_settings(path: Path) -> dict:
    """A run's recorded settings, with the settings added since at the value it ran with (and without any that a
    record of an earlier version held but no longer count)."""
    recorded = ADDED_SETTINGS | json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in recorded.items() if key in RESULT_DEFINING or key in IDENTITIES}


def file_sha256(paths) -> str:
    """One sha256 over the names and bytes of `paths`, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def model_identity(name: str) -> dict:
    """A local folder: the sha256 of its config, weights and tokenizer (the path may change, they may not). A Hub id:
    the id (the files are not on disk until the model loads, after this check). A model that cannot load (a missing
    folder, no safetensors or tokenizer, a Hub id neither cached nor reachable) is refused here, in one line: runs,
    seed studies and searches all compute their settings before they write anything."""
    check_model_source(name)
    folder = Path(name)
    if not folder.is_dir():
        return {"model": name}
    files = sorted(p for p in folder.iterdir() if any(fnmatch.fnmatch(p.name, x) for x in MODEL_FOLDER_PATTERNS))
    return {"model_sha256": file_sha256(files)}


def source_identity(model_args, data_args, training_args) -> dict:
    """The identity of the model, the data and a student's teacher and transfer file (their files hashed): what every
    run of a study shares, so that a study hashes their files once."""
    return model_identity(model_args.model_name_or_path) | {"data_sha256": source_fingerprint(data_args)} | (
        distillation_sources(training_args))


def run_settings(model_args, data_args, training_args, identity: dict | None = None) -> dict:
    """Every result-defining setting of this run, JSON-serializable, keyed by argument name. `identity`: the
    `source_identity` of the same model and data, where a study computed it already."""
    arguments = asdict(model_args) | asdict(data_args) | training_args.to_dict()
    settings = {key: value for key, value in arguments.items() if key in RESULT_DEFINING}
    return (identity or source_identity(model_args, data_args, training_args)) | settings | {
        "world_size": training_args.world_size
    }


def distillation_sources(training_args) -> dict:
    """A student's teacher (training.DistillationArguments) by its model files' sha256, and its transfer file by its
    bytes', as the model and the data count: other teachers or texts give another result, another path does not."""
    teacher, transfer_file = getattr(training_args, "teacher", None), getattr(training_args, "transfer_file", None)
    return ({"teacher_sha256": model_identity(teacher)["model_sha256"]} if teacher else {}) | (
        {"transfer_file_sha256": file_sha256([Path(transfer_file)])} if transfer_file else {})


def settings_differences(recorded: dict, current: dict) -> list[str]:
    """`name old → new` for each setting that differs (JSON round trip first: tuples become lists)."""
    current = json.loads(json.dumps(current))
    return [
        f"{key} {shorten(recorded.get(key))} → {shorten(current.get(key))}"
        for key in sorted(set(recorded) | set(current))
        if recorded.get(key) != current.get(key)
    ]


def shorten(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text[:12] + "…" if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text
