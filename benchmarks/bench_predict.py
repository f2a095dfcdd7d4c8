"""Serving on this CPU, side by side in one process: PyTorch eager vs ONNX Runtime fp32 vs ONNX Runtime int8.

    python -m benchmarks.bench_predict --output_dir outputs/minilm     # make bench-predict OUTPUT_DIR=outputs/minilm
    python -m benchmarks.bench_predict --output_dir RUN --files ../shared/data/sst2/dev.tsv heldout.tsv --rounds 3

Correctness, on each labelled file (default: the official dev split): every backend's accuracy at batch 32 and,
against PyTorch's, the largest |difference| of a class probability and the reviews labelled differently.
Speed, on the first file: batch-1 latency (p50, p95; one call per review, tokenization included) and throughput at
batch 32, then the levers: ORT graph optimizations off, one thread, batches in input order instead of by length.
Contenders run one after another in an order that rotates each round; each contender's timings are pooled.
The run is exported first (make export) if OUTPUT_DIR/onnx/ is missing.
"""

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from errors import exit_in_one_line
from inference import Classifier
from inference.export import export_if_missing
from inference.runs import model_files
from run_folder import check_finished_run
from sst_data import read_input
from training_report import probabilities

from .bench import ROOT, matmul_gflops

NAMES = {"torch": "PyTorch eager", "onnx": "ONNX fp32", "onnx-int8": "ONNX int8"}


@dataclass(frozen=True)
class Contender:
    backend: str
    threads: int | None = None  # None: the backend's default, one per core
    graph_optimizations: bool = True
    sort_by_length: bool = True
    batch_1: bool = True  # timed at batch 1 too (batch order changes nothing there)
    run: str | None = None  # which run, where several are timed side by side (benchmarks.frontier)

    @property
    def name(self) -> str:
        levers = [f"{self.threads} thread" if self.threads else "", "" if self.graph_optimizations else "no graph opt.",
                  "" if self.sort_by_length else "input order"]  # fmt: skip
        return ", ".join(filter(None, [self.run, NAMES[self.backend], *levers]))


MAIN = [Contender("torch"), Contender("onnx"), Contender("onnx-int8")]
LEVERS = [
    Contender("onnx", graph_optimizations=False),
    Contender("onnx-int8", graph_optimizations=False),
    Contender("torch", threads=1),
    Contender("onnx", threads=1),
    Contender("onnx-int8", threads=1),
    Contender("torch", sort_by_length=False, batch_1=False),
    Contender("onnx-int8", sort_by_length=False, batch_1=False),
]


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def dev_file() -> Path | None:
    """The official dev split's reviews: the project's data/sst2/, or the shared copy beside the checkout."""
    return next((d / "dev.tsv" for d in (ROOT / "data" / "sst2", ROOT.parent / "shared" / "data" / "sst2")
                 if (d / "dev.tsv").is_file()), None)  # fmt: skip


def correctness(classifiers: dict, files: list[str]) -> list[dict]:
    """Per file and backend: accuracy, and against PyTorch max |Δ probability| and the labels that differ."""
    rows = []
    for file in files:
        reviews = read_input(file)
        gold = np.array([classifiers["torch"].label_names.index(label) for label in reviews.labels])
        outputs = {
            backend: probabilities(classifiers[backend].logits(reviews.texts, 32, progress=False)[0]) for backend in NAMES
        }
        reference = outputs["torch"]
        for backend, probs in outputs.items():
            rows.append({
                "file": file, "reviews": len(gold), "backend": backend,
                "accuracy": float((probs.argmax(-1) == gold).mean()),
                "max_abs_delta_probability": float(np.abs(probs - reference).max()),
                "labels_differing": int((probs.argmax(-1) != reference.argmax(-1)).sum()),
            })  # fmt: skip
    return rows


def time_contender(classifier: Classifier, contender: Contender, reviews: list[str]) -> tuple[list[float], float]:
    """(seconds of each batch-1 call, seconds for all reviews at batch 32)."""
    latencies = []
    if contender.batch_1:
        for review in reviews:
            start = time.perf_counter()
            classifier.logits([review], 1)
            latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    classifier.logits(reviews, 32, sort_by_length=contender.sort_by_length, progress=False)
    return latencies, time.perf_counter() - start


def speed(classifiers: dict, contenders: list[Contender], reviews: list[str], rounds: int) -> list[dict]:
    latencies = {c: [] for c in contenders}
    batch_32 = {c: 0.0 for c in contenders}
    for round_number in range(rounds):
        shift = round_number % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            classifier = classifiers[contender]
            classifier.logits(reviews[:8], 1)  # warm-up: first-call allocations, thread pools
            seconds, total = time_contender(classifier, contender, reviews)
            latencies[contender] += seconds
            batch_32[contender] += total
        print(f"[bench] round {round_number + 1}/{rounds} timed", file=sys.stderr, flush=True)
    rows = []
    for contender in contenders:
        times = np.array(latencies[contender]) * 1000
        rows.append({
            "contender": contender.name, **asdict(contender),
            "p50_ms": float(np.percentile(times, 50)) if len(times) else None,
            "p95_ms": float(np.percentile(times, 95)) if len(times) else None,
            "batch_1_per_s": len(times) / times.sum() * 1000 if len(times) else None,
            "batch_32_per_s": rounds * len(reviews) / batch_32[contender],
        })  # fmt: skip
    return rows


def sizes_mb(run: Path) -> dict[str, float]:
    return {backend: path.stat().st_size / 2**20 for backend, path in model_files(run).items()}


def print_tables(correct: list[dict], timed: list[dict], sizes: dict, reviews: int, rounds: int) -> None:
    print("\nCorrectness (batch 32; Δ against PyTorch eager):\n")
    print("| file | reviews | backend | accuracy | Δ accuracy (points) | labels differing | max abs Δ probability |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for row in correct:
        torch_accuracy = next(r["accuracy"] for r in correct if r["file"] == row["file"] and r["backend"] == "torch")
        print(f"| {Path(row['file']).name} | {row['reviews']} | {NAMES[row['backend']]} | {row['accuracy']:.4f} "
              f"| {100 * (row['accuracy'] - torch_accuracy):+.2f} | {row['labels_differing']} "
              f"| {row['max_abs_delta_probability']:.1e} |")  # fmt: skip
    base = timed[0]
    print(f"\nSpeed ({reviews} reviews × {rounds} round(s); batch 1: one call per review, tokenization included):\n")
    print("| contender | size on disk (MB) | batch-1 p50 (ms) | batch-1 p95 (ms) | batch-1 reviews/s | vs PyTorch "
          "| batch-32 reviews/s | vs PyTorch |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in timed:
        if row["batch_1_per_s"] is None:
            batch_1 = "| — | — | — | — "
        else:
            batch_1 = (f"| {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | {row['batch_1_per_s']:.1f} "
                       f"| {row['batch_1_per_s'] / base['batch_1_per_s']:.2f}× ")  # fmt: skip
        print(f"| {row['contender']} | {sizes[row['backend']]:.1f} {batch_1}| {row['batch_32_per_s']:.1f} "
              f"| {row['batch_32_per_s'] / base['batch_32_per_s']:.2f}× |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", type=Path, required=True, help="A finished run (exported first if need be).")
    parser.add_argument("--files", nargs="+", default=[dev_file()], help="Labelled TSV files; speed on the first.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes over the reviews, per contender.")
    parser.add_argument("--no_levers", action="store_true", help="Time the three backends only.")
    parser.add_argument("--quick", action="store_true", help="A check: 64 reviews, 1 round.")
    parser.add_argument("--json", type=Path, help="Also write every measurement here.")
    args = parser.parse_args()
    run = check_finished_run(args.output_dir)
    export_if_missing(run)

    contenders = MAIN + ([] if args.no_levers else LEVERS)
    classifiers = {c: Classifier(run, c.backend, c.threads, c.graph_optimizations) for c in contenders}
    classifiers |= {c.backend: classifiers[c] for c in MAIN}
    gflops = matmul_gflops("cpu")
    print(f"{cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"onnxruntime {version('onnxruntime')}, transformers {version('transformers')}; "
          f"fp32 matmul {gflops:.0f} GFLOP/s (1024³, torch)")  # fmt: skip
    print(f"Run {run}: reviews cut to {classifiers['torch'].max_length} tokens")

    correct = correctness(classifiers, args.files)
    reviews = read_input(args.files[0]).texts
    rounds = args.rounds
    if args.quick:
        reviews, rounds = reviews[:64], 1
    timed = speed(classifiers, contenders, reviews, rounds)
    sizes = sizes_mb(run)
    print_tables(correct, timed, sizes, len(reviews), rounds)
    print(f"\nfp32 matmul rate measured in this run: {gflops:.0f} GFLOP/s")
    if args.json:
        args.json.write_text(json.dumps({"matmul_gflops": gflops, "sizes_mb": sizes, "correctness": correct,
                                         "speed": timed}, indent=2))  # fmt: skip


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.bench_predict")
