"""What defines a run's result: the model's weights, the data's bytes, and every argument that changes the math.

Recorded in the output folder when a run starts, so that a rerun into that folder resumes only the run it
would itself have trained. Output paths, logging, reporting, checkpoint cadence and evaluation batching are
left out: they change where and how results are written, not what they are.
"""

import fnmatch
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from sst_data import data_fingerprint
from training_report.outputs import MODEL_FOLDER_PATTERNS

# Arguments that do not change the trained weights or the reported metrics.
NOT_RESULT_DEFINING = {
    "model_name_or_path", "trust_remote_code", "data_dir", "output_dir", "overwrite_output_dir", "resume_from_checkpoint",
    "push_to_hub", "push_to_hub_dry_run", "hub_token", "hub_private_repo", "hub_model_id", "hub_strategy", "hub_always_push",
    "hub_revision", "report_to", "run_name", "project", "disable_tqdm", "log_level", "log_level_replica", "log_on_each_node",
    "logging_dir", "logging_strategy", "logging_steps", "logging_first_step", "logging_nan_inf_filter",
    "include_num_input_tokens_seen", "eval_strategy", "eval_steps", "eval_delay", "per_device_eval_batch_size",
    "eval_on_start", "eval_do_concat_batches", "eval_use_gather_object", "eval_accumulation_steps", "batch_eval_metrics",
    "save_strategy", "save_steps", "save_total_limit", "save_on_each_node", "save_only_model", "enable_jit_checkpoint",
    "dataloader_num_workers", "dataloader_pin_memory", "dataloader_persistent_workers", "dataloader_prefetch_factor",
    "dataloader_multiprocessing_context", "skip_memory_metrics", "debug", "ddp_timeout", "torch_empty_cache_steps",
    "local_rank", "do_train", "do_eval", "do_predict", "gpu_mode",  # gpu_mode's effect (bf16, tf32, optim) is recorded
    "trackio_space_id", "trackio_bucket_id", "trackio_static_space_id",
}  # fmt: skip


# Result-defining settings added after runs were recorded, and the value a record without them ran with. (Runs of
# a local model recorded before its tokenizer counted in model_sha256 differ there anyway: another identity.)
ADDED_SETTINGS = {"last_layer_cls_only": False, "dropout": None, "freeze_word_embeddings": False}


def read_settings(path: Path) -> dict:
    """A run's recorded settings, with the settings added since at the value it ran with."""
    return ADDED_SETTINGS | json.loads(path.read_text(encoding="utf-8"))


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
    the id (the files are not on disk until the model loads, after this check)."""
    folder = Path(name)
    if not folder.is_dir():
        return {"model": name}
    files = sorted(p for p in folder.iterdir() if any(fnmatch.fnmatch(p.name, x) for x in MODEL_FOLDER_PATTERNS))
    return {"model_sha256": file_sha256(files)}


def run_settings(model_args, data_args, training_args) -> dict:
    """Every result-defining setting of this run, JSON-serializable, keyed by argument name."""
    arguments = asdict(model_args) | asdict(data_args) | training_args.to_dict()
    settings = {key: value for key, value in arguments.items() if key not in NOT_RESULT_DEFINING}
    return model_identity(model_args.model_name_or_path) | {"data_sha256": data_fingerprint(data_args.data_dir)} | settings | {
        "world_size": training_args.world_size
    }


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
