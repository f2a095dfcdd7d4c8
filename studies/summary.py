"""A seed study's summary: the spread of every metric over runs that differ only in their seeds, the
per-epoch accuracy beside the notebook's, one verdict on where the notebook's result falls, and the plot.

`std` is the sample standard deviation (ddof 1) and `ci95` the t-interval of the mean: the numbers a
reproducibility checklist asks for. An interval reaching past what the metric can be (below 0; above 1 for a score)
is cut at that bound and marked `ci95_clipped`: with few runs the t-interval is wide (t = 12.7 for 2 runs).
"""

import csv
import io
import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from run_folder import write_atomic
from training_report import NOTEBOOK_ACCURACY, below, run_metrics, save_figure

SUMMARY_FILES = ("seeds.json", "seeds.md", "seeds.csv", "seeds.png")
TIMINGS = ("_runtime", "_per_second")
VARIANCE_FILES = ("variance.json", "variance.md")
SCORES = ("accuracy", "f1", "precision", "recall")  # fractions, in [0, 1]; every other metric (loss, time, count) >= 0
MIN_RUNS_FOR_VERDICT = 3  # below it the t-interval spans most of [0, 1]: no verdict, one line saying so
CLIPPED = "clipped to the metric's range"


def metric_range(key: str) -> tuple[float, float]:
    return (0.0, 1.0) if any(score in key for score in SCORES) else (0.0, math.inf)


def spread(values: list[float], bounds: tuple[float, float] = (0.0, math.inf)) -> dict:
    """Mean, std, range and the 95% t-interval of the mean of `values`, the interval cut at `bounds`."""
    values = [float(v) for v in values]
    mean, std = float(np.mean(values)), float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * std / np.sqrt(len(values))  # 0 when every run agrees
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return {"values": values, "mean": mean, "std": std, "min": min(values), "max": max(values), "ci95": [low, high],
            "ci95_clipped": (low, high) != (mean - half, mean + half)}  # fmt: skip


def summarize(runs: dict[int, Path]) -> dict[str, dict]:
    """The spread of every metric that all `runs` (seed → finished run folder) report."""
    metrics = {seed: run_metrics(folder) for seed, folder in runs.items()}
    shared = set.intersection(*(set(m) for m in metrics.values()))
    return {key: spread([metrics[seed][key] for seed in runs], metric_range(key)) for key in sorted(shared)}


def interval(s: dict, spec: str = ".4f") -> str:
    """`low–high` of a spread's 95% interval, saying so when it was cut at the metric's range."""
    text = f"{s['ci95'][0]:{spec}}–{s['ci95'][1]:{spec}}"
    return text + f" ({CLIPPED})" if s.get("ci95_clipped") else text


def against_the_notebook(accuracy: dict) -> str:
    """Where the notebook's final accuracy falls against the validation accuracy of runs (a `spread`): their range and
    the interval of their mean, read as consistent or not; with fewer than MIN_RUNS_FOR_VERDICT runs, only that there
    are too few to tell. The one place that reads a study against the notebook."""
    target, n = NOTEBOOK_ACCURACY[-1], len(accuracy["values"])
    runs = f"{accuracy['min']:.4f}–{accuracy['max']:.4f}"
    if n < MIN_RUNS_FOR_VERDICT:
        return (
            f"too few seeds were run to tell whether the notebook's {target:.3f} (one run) is reproduced: {n} runs "
            f"({runs}), at least {MIN_RUNS_FOR_VERDICT} needed for an interval worth reading"
        )
    if target > accuracy["max"] or target < accuracy["min"]:
        place = f"{'above' if target > accuracy['max'] else 'below'} all {n} runs ({runs})"
    else:
        place = f"within the range of the {n} runs ({runs})"
    low, high = accuracy["ci95"]
    inside = "inside" if low <= target <= high else "outside"
    reading = "consistent with this recipe" if inside == "inside" else "not reproduced by this recipe and model"
    return (
        f"the notebook's {target:.3f} (one run) lies {place}, {inside} the 95% interval of their mean "
        f"{accuracy['mean']:.4f} ({interval(accuracy)}): {reading}"
    )


def verdict(summary: dict, model: str) -> str:
    """The study's one line against the notebook, naming the model when it is not the notebook's."""
    differs = "" if model == "distilbert-base-uncased" else f"; note the model differs: the notebook fine-tuned distilbert-base-uncased, these runs {model}"
    return f"Verdict: {against_the_notebook(summary['eval_accuracy'])}{differs}."


def spread_line(summary: dict) -> str:
    """A study on other data than the notebook's: the spread of its validation scores, no comparison."""
    parts = []
    for key, name in (("eval_accuracy", "accuracy"), ("eval_macro_f1", "macro-F1")):
        if key in summary:
            s = summary[key]
            parts.append(f"{name} {s['mean']:.4f} ± {s['std']:.4f} (95% interval of the mean {interval(s)}; runs "
                         f"{s['min']:.4f}–{s['max']:.4f})")  # fmt: skip
    return f"Validation over {len(summary['eval_accuracy']['values'])} runs: " + "; ".join(parts) + "."


def epoch_keys(summary: dict) -> list[str]:
    return sorted((k for k in summary if k.startswith("epoch_")), key=epoch_of)


def epoch_of(key: str) -> float:
    """The epoch of an `epoch_<k>_accuracy` key: a number, or a fraction for a run stopped inside its first epoch."""
    return float(key.split("_")[1])


def summary_markdown(summary: dict, seeds: list[int], vary: str, line: str, notebook: bool = True) -> str:
    out = io.StringIO()
    out.write(f"# Seed study: {len(seeds)} runs, seeds {', '.join(map(str, seeds))}, varying {vary}\n\n{line}\n\n")
    beside = ", beside the notebook's single run" if notebook else ""
    out.write(f"Validation accuracy per epoch (mean ± std over the runs){beside}:\n\n")
    out.write("| Epoch | Accuracy (mean ± std) | min | max |" + " Notebook |" * notebook + "\n")
    out.write("| ---: | ---: | ---: | ---: |" + " ---: |" * notebook + "\n")
    for number, key in enumerate(epoch_keys(summary), start=1):
        s = summary[key]
        reference = f"{NOTEBOOK_ACCURACY[number - 1]:.3f}" if number <= len(NOTEBOOK_ACCURACY) else "—"
        out.write(f"| {epoch_of(key):g} | {s['mean']:.4f} ± {s['std']:.4f} | {s['min']:.4f} | {s['max']:.4f} |"
                  + f" {reference} |" * notebook + "\n")  # fmt: skip
    out.write("\nThe final model's metrics (std: sample standard deviation; 95% CI: t-interval of the mean):\n\n")
    out.write("| Metric | Mean | Std | Min | Max | 95% CI | " + " | ".join(f"seed {s}" for s in seeds) + " |\n")
    out.write("| --- |" + " ---: |" * (5 + len(seeds)) + "\n")
    for key, s in summary.items():
        if not key.startswith("epoch_") and not key.endswith(TIMINGS):  # timings: in seeds.json and seeds.csv
            cells = [f"{s['mean']:.4g}", f"{s['std']:.2g}", f"{s['min']:.4g}", f"{s['max']:.4g}",
                     interval(s, ".4g"), *(f"{v:.4g}" for v in s["values"])]  # fmt: skip
            out.write(f"| {key} | " + " | ".join(cells) + " |\n")
    return out.getvalue()


def summary_csv(summary: dict, seeds: list[int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "mean", "std", "min", "max", "ci95_low", "ci95_high", "ci95_clipped", *(f"seed_{s}" for s in seeds)])
    for key, s in summary.items():
        writer.writerow([key, s["mean"], s["std"], s["min"], s["max"], *s["ci95"], s["ci95_clipped"], *s["values"]])
    return out.getvalue()


def study_figure(summary: dict, seeds: list[int], notebook: bool = True):
    """Each run's validation accuracy per epoch (thin lines), their mean with a ±1 std band, and on the notebook's data
    the notebook's points."""
    keys = epoch_keys(summary)
    epochs = [epoch_of(key) for key in keys]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    for i, seed in enumerate(seeds):  # a marker at each point: a one-epoch run is a point, not a line
        ax.plot(epochs, [summary[k]["values"][i] for k in keys], ".-", lw=0.8, alpha=0.5, color="tab:blue",
                label="each run" if i == 0 else None)  # fmt: skip
    mean = np.array([summary[k]["mean"] for k in keys])
    std = np.array([summary[k]["std"] for k in keys])
    ax.plot(epochs, mean, "o-", lw=2, color="tab:blue", label=f"mean of {len(seeds)} runs")
    ax.fill_between(epochs, mean - std, mean + std, color="tab:blue", alpha=0.2, label="mean ± 1 std")
    if notebook:
        reference = NOTEBOOK_ACCURACY[: len(epochs)]
        ax.plot(epochs[: len(reference)], reference, "s", color="black", label="notebook (DistilBERT, one run)")
    ax.set(title="Validation accuracy per epoch", xlabel="epoch", ylabel="accuracy", xticks=epochs)
    below(ax)
    return fig


def write_summary(study_dir: Path, runs: dict[int, Path], vary: str, model: str, notebook: bool = True) -> str:
    """seeds.json / .md / .csv / .png in `study_dir`; returns the verdict line (with `notebook`, the runs train on the
    notebook's data: where its result falls; otherwise their spread alone)."""
    seeds = list(runs)
    summary = summarize(runs)
    line = verdict(summary, model) if notebook else spread_line(summary)
    record = {"seeds": seeds, "vary": vary, "runs": {str(s): p.name for s, p in runs.items()}, "metrics": summary, "verdict": line}
    write_atomic(study_dir / "seeds.csv", summary_csv(summary, seeds))
    write_atomic(study_dir / "seeds.md", summary_markdown(summary, seeds, vary, line, notebook))
    save_figure(study_figure(summary, seeds, notebook), study_dir / "seeds.png")
    write_atomic(study_dir / "seeds.json", json.dumps(record, indent=2))  # last: the study is summarized
    return line


def write_variance(study_dir: Path, sources: dict[str, dict]) -> str:
    """The spread when only one seed varies, side by side (Dodge et al. 2020); `sources[vary]` is that study's
    summary. Returns the Markdown table."""
    keys = [k for k in ("eval_accuracy", "dev_accuracy", "test_accuracy", "eval_loss") if all(k in s for s in sources.values())]
    out = io.StringIO()
    out.write("| Varied seed | Runs | " + " | ".join(f"{k} mean ± std" for k in keys) + " |\n")
    out.write("| --- | ---: |" + " ---: |" * len(keys) + "\n")
    for vary, summary in sources.items():
        n = len(summary["eval_accuracy"]["values"])
        out.write(f"| {vary} | {n} | " + " | ".join(f"{summary[k]['mean']:.4f} ± {summary[k]['std']:.4f}" for k in keys) + " |\n")
    table = out.getvalue()
    write_atomic(study_dir / "variance.json", json.dumps({vary: {k: s[k] for k in keys} for vary, s in sources.items()}, indent=2))
    write_atomic(study_dir / "variance.md", "# Where the spread comes from: one seed varied at a time\n\n" + table)
    return table
