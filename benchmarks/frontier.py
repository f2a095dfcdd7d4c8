"""The accuracy–latency frontier of finished runs (a teacher, a plain student, a distilled student), each under PyTorch
eager, ONNX fp32 and ONNX int8, timed side by side in one process.

    python -m benchmarks.frontier --runs outputs/mpnet-seeds outputs/minilm-seeds outputs/student-seeds
    make frontier RUNS="outputs/mpnet-seeds outputs/minilm-seeds outputs/student-seeds"

Each of --runs is a finished run folder or a seed study's folder (`make seeds`: its seed-N runs and seeds.json).
Accuracy is read from the runs' own results, never recomputed: validation and dev, mean ± std over a study's seeds
(its seeds.json), a single run's as it is (n 1, no std). Speed is measured here with bench_predict's timing: batch-1
latency (p50, p95; one call per review, tokenization included) and throughput at batch 32, on the official dev reviews
cut to 80 tokens (--max_length) by each model's tokenizer, every model under every backend in turn, the order rotating
each round; a study's first seed is timed (its seeds share one architecture). A run without its ONNX export is exported
first (make export). Parameters are counted in model.safetensors; a size on disk is the backend's model file.

A distilled student (distillation.json in its folder, written by make distill) records its teacher by the sha256 of the
teacher's model files (teacher_sha256 in its run_settings.json): the candidate whose runs hold that model is its
teacher; when none does, the teacher is the run distillation.json names, with the accuracies it records. Recovery is a
candidate's accuracy as a share of its teacher's; a candidate without a teacher is set against the frontier's teacher,
when the students name one among the candidates and it trained on the same data.

The result (benchmarks/results.py's "frontier" kind) goes to benchmarks/results/ (--json), with frontier.png beside it:
batch-1 p50 latency (log) against validation accuracy, the Pareto points marked, the notebook's 0.881 as a line.
`python -m benchmarks.tables` renders the latest into docs/distillation.md.
"""

import argparse
import json
import math
import os
import shlex
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import yaml
from matplotlib.lines import Line2D
from matplotlib.ticker import StrMethodFormatter
from safetensors import safe_open

from errors import ProjectError, exit_in_one_line, one_line_errors
from inference import Classifier
from inference.export import export_if_missing
from inference.runs import model_files
from run_folder import CARD_INPUTS, DISTILLATION_FILE, FINISHED_MARKER, MODEL_FILES, SETTINGS_FILE, check_finished_run
from run_folder.settings import model_identity
from sst_data import read_input
from studies.summary import SUMMARY_FILES
from training_report.epochs import NOTEBOOK_ACCURACY
from training_report.plots import plt, save_figure

from . import results, tables
from .bench import ROOT, matmul_gflops
from .bench_predict import NAMES, Contender, cpu_name, dev_file, speed

PROG = "python -m benchmarks.frontier"
THEN = "measure it"
STUDY_SUMMARY = SUMMARY_FILES[0]  # seeds.json: a seed study is summarized, so finished
ACCURACIES = {"validation_accuracy": "eval_accuracy", "dev_accuracy": "dev_accuracy"}  # the result's key: the run's
# The notebook's split: its train.tsv (the card's source.notebook), sampled and split as recipes/notebook.yaml says.
NOTEBOOK_RECIPE = yaml.safe_load((ROOT / "recipes" / "notebook.yaml").read_text(encoding="utf-8"))
NOTEBOOK_SPLIT = {key: NOTEBOOK_RECIPE[key] for key in ("sample_fraction", "validation_fraction")} | {
    "validation_split": "sample"}  # fmt: skip


@dataclass
class Candidate:
    name: str
    runs: list[Path]  # one run, or a seed study's runs; the first is timed
    card: dict  # the first run's model card inputs
    accuracy: dict  # {"validation_accuracy": {mean, std, n}, "dev_accuracy": ...}
    distillation: dict | None  # the first run's distillation.json: a student's
    teacher_sha256: str | None  # a student's teacher, by its model files (run_settings.json)

    @property
    def data(self) -> str:
        """`notebook` on the notebook's split; else the data's name and how it was split."""
        data, source = self.card["data"], self.card.get("source") or {}
        split = {key: data.get(key) for key in NOTEBOOK_SPLIT}
        if source.get("notebook") and split == NOTEBOOK_SPLIT:
            return "notebook"
        name = Path(data.get("data_dir") or data.get("train_file") or data.get("dataset_name") or "data").name
        return f"{name}, " + ", ".join(f"{key} {value}" for key, value in split.items())


def spread(metric: dict | None) -> dict:
    """A seed study's summary of a metric (studies.summary) as {mean, std, n}."""
    if metric is None:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": metric["mean"], "std": metric["std"], "n": len(metric["values"])}


def read_candidate(folder: Path, name: str) -> Candidate:
    """A finished run or seed study, checked, with its accuracies; one line naming `folder` when it is neither."""
    if (folder / STUDY_SUMMARY).is_file():
        study = json.loads((folder / STUDY_SUMMARY).read_text(encoding="utf-8"))
        runs = [check_finished_run(folder / run, then=THEN) for run in study["runs"].values()]
        accuracy = {key: spread(study["metrics"].get(metric)) for key, metric in ACCURACIES.items()}
    elif folder.is_dir() and any(folder.glob("seed-*")) and not (folder / FINISHED_MARKER).is_file():
        raise ProjectError(f"{folder}: a seed study without its summary ({STUDY_SUMMARY}), unfinished; rerun its make seeds "
                           f"command to finish it, then {THEN}")  # fmt: skip
    else:
        runs = [check_finished_run(folder, then=THEN)]
        found = json.loads((folder / FINISHED_MARKER).read_text(encoding="utf-8"))
        accuracy = {key: {"mean": found[metric], "std": None, "n": 1} if metric in found else spread(None)
                    for key, metric in ACCURACIES.items()}  # fmt: skip
    first = runs[0]
    if not (first / CARD_INPUTS).is_file():
        raise ProjectError(f"{first}: finished by an older version of the suite (no {CARD_INPUTS}); train it again")
    distillation = first / DISTILLATION_FILE
    return Candidate(
        name, runs, json.loads((first / CARD_INPUTS).read_text(encoding="utf-8")), accuracy,
        json.loads(distillation.read_text(encoding="utf-8")) if distillation.is_file() else None,
        json.loads((first / SETTINGS_FILE).read_text(encoding="utf-8")).get("teacher_sha256"),
    )  # fmt: skip


def read_candidates(folders: list[Path]) -> list[Candidate]:
    """Every entry checked before anything is timed; named by its folder (by its path where two share a name)."""
    names = [folder.name for folder in folders]
    return [read_candidate(folder, name if names.count(name) == 1 else str(folder)) for folder, name in zip(folders, names)]


def teachers(candidates: list[Candidate]) -> dict[str, tuple[str, dict]]:
    """Each student's teacher by the student's name: (the teacher's name, its accuracies): the candidate whose runs
    hold the model the student recorded, else the run its distillation.json names, with the accuracies recorded there."""
    students = [c for c in candidates if c.distillation]
    models = {}
    if students:
        models = {model_identity(str(run))["model_sha256"]: c for c in candidates if not c.distillation for run in c.runs}
    found = {}
    for student in students:
        if student.teacher_sha256 in models:
            teacher = models[student.teacher_sha256]
            found[student.name] = (teacher.name, teacher.accuracy)
        else:
            recorded = student.distillation["teacher"]
            found[student.name] = (recorded["run"], {key: {"mean": recorded.get(metric), "std": None, "n": 1}
                                                     for key, metric in ACCURACIES.items()})  # fmt: skip
    return found


def share(accuracy: dict, reference: dict) -> dict:
    """Each accuracy as a share of the reference's."""
    return {key.removesuffix("_accuracy"): accuracy[key]["mean"] / reference[key]["mean"]
            if accuracy[key]["mean"] is not None and reference[key]["mean"] else None for key in ACCURACIES}  # fmt: skip


def parameters(run: Path) -> int:
    with safe_open(run / MODEL_FILES[1], framework="np") as weights:
        return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())  # noqa: SIM118


def entries(candidates: list[Candidate], timed: list[dict]) -> list[dict]:
    """The candidates as the result holds them, their backends' timings from bench_predict's rows."""
    found = teachers(candidates)
    named = {teacher for teacher, _ in found.values()} & {c.name for c in candidates}
    reference = next((c for c in candidates if c.name in named), None) if len(named) == 1 else None
    out = []
    for c in candidates:
        teacher, against = found.get(c.name, (None, None))
        if teacher is None and reference is not None and reference.data == c.data:
            against = reference.accuracy
        files = model_files(c.runs[0])
        out.append({
            "name": c.name, "model": c.card["base_name"], "parameters": parameters(c.runs[0]),
            "size_bytes": files["torch"].stat().st_size, "teacher": teacher, "data": c.data, **c.accuracy,
            "recovery": None if against is None else share(c.accuracy, against) | {
                "against": teacher or reference.name},
            "backends": [{"backend": row["backend"], "p50_ms": row["p50_ms"], "p95_ms": row["p95_ms"],
                          "throughput_per_s": row["batch_32_per_s"], "size_bytes": files[row["backend"]].stat().st_size}
                         for row in timed if row["run"] == c.name],
        })  # fmt: skip
    mark_pareto(out)
    return out


def mark_pareto(candidates: list[dict]) -> None:
    """`pareto` on each backend: no other point is at least as fast at batch 1 and as accurate on validation, and
    better in one of them."""
    points = [(b["p50_ms"], c["validation_accuracy"]["mean"], b) for c in candidates for b in c["backends"]]
    for latency, accuracy, backend in points:
        backend["pareto"] = accuracy is not None and not any(
            other is not None and t <= latency and other >= accuracy and (t, other) != (latency, accuracy)
            for t, other, _ in points
        )


def frontier_figure(result: dict):
    """Batch-1 p50 latency (log) against validation accuracy (± its std over seeds): a colour a candidate, a marker a
    backend, the Pareto points ringed and joined, the notebook's final accuracy as a line."""
    markers = {"torch": "o", "onnx": "s", "onnx-int8": "^"}
    fig, ax = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    for i, candidate in enumerate(result["candidates"]):
        accuracy = candidate["validation_accuracy"]
        if accuracy["mean"] is None:
            continue
        for backend in candidate["backends"]:
            ax.errorbar(backend["p50_ms"], accuracy["mean"], yerr=accuracy["std"] or 0, fmt=markers[backend["backend"]],
                        color=f"C{i}", capsize=3, markersize=7)  # fmt: skip
    front = sorted((b["p50_ms"], c["validation_accuracy"]["mean"]) for c in result["candidates"] for b in c["backends"]
                   if b["pareto"])  # fmt: skip
    if front:
        ax.plot(*zip(*front), "--", color="black", lw=1, zorder=0)
        ax.scatter(*zip(*front), s=260, facecolors="none", edgecolors="black", lw=1.2)
    ax.axhline(NOTEBOOK_ACCURACY[-1], color="grey", ls=":")
    ax.set_xscale("log")
    for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):  # 20, not 2×10¹
        axis(StrMethodFormatter("{x:g}"))
    ax.set(title=f"Accuracy against latency ({result['device']}, {result['matmul_gflops']} GFLOP/s)",
           xlabel=f"batch-1 latency, p50 (ms, log scale; reviews cut to {result['max_length']} tokens)",
           ylabel="validation accuracy (mean ± std over seeds)")  # fmt: skip
    handles = [Line2D([], [], color=f"C{i}", lw=6, label=c["name"]) for i, c in enumerate(result["candidates"])]
    handles += [Line2D([], [], color="black", marker=m, ls="", label=NAMES[b]) for b, m in markers.items()]
    handles += [Line2D([], [], color="black", marker="o", markersize=14, markerfacecolor="none", ls="--", lw=1,
                       label="Pareto front"),
                Line2D([], [], color="grey", ls=":", label=f"the notebook (DistilBERT): {NOTEBOOK_ACCURACY[-1]}")]  # fmt: skip
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3, frameon=False)
    return fig


def main() -> None:
    parser = one_line_errors(argparse.ArgumentParser(prog=PROG, description=__doc__,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter))  # fmt: skip
    parser.add_argument("--runs", type=Path, nargs="+", required=True,
                        help="Finished run folders or seed study folders: the teacher, the students.")  # fmt: skip
    parser.add_argument("--file", type=Path, default=dev_file(), help="The reviews timed (default: the official dev split).")
    parser.add_argument("--max_length", type=int, default=80, help="Every review cut to this many tokens when timed.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes over the reviews, per model and backend.")
    parser.add_argument("--quick", action="store_true", help="A check: 64 reviews, 1 round.")
    parser.add_argument("--json", type=Path, help="Where the result goes (default: benchmarks/results/DATE-N-cpu-frontier"
                        ".json); the plot goes beside it, as .png.")  # fmt: skip
    parser.add_argument("--note", help="What the result should say of the conditions (a shared machine, ...).")
    args = parser.parse_args()
    if args.file is None or not args.file.is_file():
        raise ProjectError(f"--file {args.file}: not found; pass the reviews to time (a file make predict reads)")
    candidates = read_candidates(args.runs)
    reviews = read_input(args.file).texts
    rounds = args.rounds
    if args.quick:
        reviews, rounds = reviews[:64], 1

    for candidate in candidates:
        export_if_missing(candidate.runs[0])
    contenders = [Contender(backend, run=c.name) for c in candidates for backend in NAMES]
    runs = {c.name: c.runs[0] for c in candidates}
    classifiers = {c: Classifier(runs[c.run], c.backend, max_length=args.max_length) for c in contenders}
    gflops = matmul_gflops("cpu")
    print(f"{cpu_name()}, {os.cpu_count()} cores; fp32 matmul {gflops:.0f} GFLOP/s (1024³, torch); {len(reviews)} "
          f"reviews of {args.file} × {rounds} round(s), cut to {args.max_length} tokens", flush=True)  # fmt: skip
    timed = speed(classifiers, contenders, reviews, rounds)

    result = results.machine("cpu") | {
        "kind": "frontier", "date": results.today(), "device": f"cpu: {cpu_name()}, {os.cpu_count()} cores",
        "onnxruntime": version("onnxruntime"), "model": " / ".join(dict.fromkeys(c.card["base_name"] for c in candidates)),
        "command": shlex.join(["python", "-m", "benchmarks.frontier", *sys.argv[1:]]), "source": None,
        "note": args.note, "matmul_gflops": round(gflops), "reviews": len(reviews), "rounds": rounds,
        "max_length": args.max_length, "candidates": entries(candidates, timed),
    }  # fmt: skip
    path = args.json or results.next_path("cpu-frontier")
    results.write(result, path)
    save_figure(frontier_figure(result), path.with_suffix(".png"))
    print("\n" + tables.frontier([result | {"file": path.name}]))
    print(f"\nfp32 matmul rate measured in this run: {gflops:.0f} GFLOP/s")
    print(f"Results (JSON): {path}, the plot {path.with_suffix('.png')}; python -m benchmarks.tables renders them into "
          "docs/distillation.md")  # fmt: skip


if __name__ == "__main__":
    exit_in_one_line(main, PROG)
