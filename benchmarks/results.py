"""Benchmark results as data: the one schema every `python -m benchmarks.bench` run writes (and `.profile_step`,
`bench_predict`'s serving runs carried over by hand, `.data_scale`), and the committed runs in `benchmarks/results/`, from which
`python -m benchmarks.tables` generates docs/benchmarks.md's tables.

A training result (`"kind": "training"`), one file per `benchmarks.bench` call:

    {"kind", "date", "device", "torch", "transformers", "model", "epochs", "seeds", "sample_fraction", "train_rows",
     "matmul_gflops", "per_step_s", "command", "source", "note",
     "contenders": [{"name", "seed", "run", "train_s" (per epoch), "validation_s" (all epochs), "train_plus_validation_s",
                     "whole_command_s", "accuracy", "accuracy_per_epoch", "phases", "peak_mb", ...}],
     "rows": [one per contender: the means the bench's tables print], "failures": [...]}

Every key is present; a value not measured, or not recorded (the runs carried over from docs/lab-notes.md, whose
raw logs are lost), is null, and the result's `note` says which and why. Nothing here is ever estimated.
"""

import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch
import transformers

RESULTS_DIR = Path(__file__).resolve().parent / "results"
KINDS = ("training", "profile", "serving", "http", "data-scale")
COMMON = ("kind", "date", "device", "torch", "transformers", "model", "command", "source", "note")
TRAINING = (*COMMON, "epochs", "seeds", "sample_fraction", "train_rows", "real_tokens_per_epoch", "non_embedding_params",
            "threads", "matmul_gflops", "per_step_s", "tokenization_s", "contenders", "rows", "failures")  # fmt: skip
CONTENDER = ("name", "seed", "run", "train_s", "train_s_per_epoch_mean", "validation_s", "validation_s_per_epoch_mean",
             "train_plus_validation_s", "whole_command_s", "accuracy", "accuracy_per_epoch", "phases", "peak_mb",
             "status", "note")  # fmt: skip
ROW = ("contender", "train_s_per_epoch", "validation_s", "train_samples_per_s", "peak_mb", "accuracy", "model_gflops",
       "share_of_matmul", "wall_s", "phases")  # fmt: skip
PROFILE = (*COMMON, "steps", "contenders", "failures")
PROFILED = ("name", "wall_ms_per_step", "host_ms_per_step", "first_steps_s", "gpu_kernels_per_step",
            "gpu_busy_ms_per_step", "host_launches_per_step", "graph_launches_per_step", "syncs_per_step",
            "cpu_ops_per_step", "top_ops", "note")  # fmt: skip
SERVING = (*COMMON, "matmul_gflops", "reviews", "backends", "note")
BACKEND = ("name", "size_mb", "batch1_p50_ms", "batch1_p95_ms", "batch1_reviews_per_s", "batch32_reviews_per_s",
           "dev_accuracy")  # fmt: skip
DATA_SCALE = (*COMMON, "rows", "prepare_s", "cached_load_s", "peak_rss_mb")  # python -m benchmarks.data_scale
# `python -m benchmarks.bench_serve`: the server under closed-loop HTTP load, a row per backend and number of clients,
# beside each backend's in-process batch-1 latency ({backend: {"batch1_p50_ms", "batch1_p95_ms"}}, on the threads of
# one of the server's workers) from the same run.
HTTP = (*COMMON, "matmul_gflops", "reviews", "duration_s", "serve_args", "in_process_threads", "in_process", "rows")
HTTP_ROW = ("backend", "concurrency", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")
REQUIRED = {"training": TRAINING, "profile": PROFILE, "serving": SERVING, "http": HTTP, "data-scale": DATA_SCALE}
NESTED = {"training": ("contenders", CONTENDER), "profile": ("contenders", PROFILED), "serving": ("backends", BACKEND),
          "http": ("rows", HTTP_ROW)}  # fmt: skip


def machine(device: str) -> dict:
    """This machine as a result names it: the device, and the versions that time depends on."""
    if device == "cuda":
        properties = torch.cuda.get_device_properties(0)
        name = f"{properties.name} ({properties.total_memory // 2**20:,} MiB)"
    else:
        name = f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    return {"device": name, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": sys.version.split()[0]}  # fmt: skip


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def contender_entry(name: str, seed: int, run: int, measured: dict) -> dict:
    """One run of `benchmarks.bench` (`measured`: its epochs' stats, wall time, peak memory and phases) in the schema."""
    epochs = measured["epochs"]
    train_s = [e["training_time"] for e in epochs]
    validation_s = sum(e["validation_time"] for e in epochs)
    return {
        "name": name, "seed": seed, "run": run, "train_s": train_s, "train_s_per_epoch_mean": sum(train_s) / len(train_s),
        "validation_s": validation_s, "validation_s_per_epoch_mean": validation_s / len(epochs),
        "train_plus_validation_s": sum(train_s) + validation_s, "whole_command_s": measured["wall"],
        "accuracy": epochs[-1]["accuracy"], "accuracy_per_epoch": [e["accuracy"] for e in epochs],
        "phases": measured["phases"], "peak_mb": measured["peak_mb"], "status": "ok", "note": None,
        "epochs": epochs,
    }  # fmt: skip


def failed_entry(name: str, seed: int, run: int, reason: str) -> dict:
    return dict.fromkeys(CONTENDER) | {"name": name, "seed": seed, "run": run, "status": "failed", "note": reason}


def problems(result: dict) -> list[str]:
    """What keeps `result` from the schema: a missing key, an unknown kind; empty when it fits."""
    kind = result.get("kind")
    if kind not in KINDS:
        return [f"kind {kind!r}: not one of {', '.join(KINDS)}"]
    found = [f"no {key!r}" for key in REQUIRED[kind] if key not in result]
    key, fields = NESTED.get(kind, ("", ()))
    for i, entry in enumerate(result.get(key) or []):
        found += [f"{key}[{i}]: no {field!r}" for field in fields if field not in entry]
    if kind == "training":
        found += [f"rows[{i}]: no {field!r}" for i, row in enumerate(result.get("rows") or []) for field in ROW
                  if field not in row]  # fmt: skip
    return found


def next_path(name: str, folder: Path = RESULTS_DIR) -> Path:
    """`folder`/DATE-N-`name`.json, N the next number of today's results."""
    return folder / f"{today()}-{len(list(folder.glob(f'{today()}-*.json'))) + 1}-{name}.json"


def write(result: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return path


def load(folder: Path = RESULTS_DIR) -> list[dict]:
    """Every result in `folder`, oldest first (by date, then file name), each with its file name as `file`."""
    results = []
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text())
        results.append(result | {"file": path.name})
    return sorted(results, key=lambda r: (r["date"], r["file"]))
