"""A hyperparameter search's report: what the budget bought, not just the best trial.

The expected best validation score after n trials (Dodge et al. 2019, "Show Your Work", arXiv 1909.03004): with the
K complete trials' values sorted ascending, v(1) <= ... <= v(K), the best of n draws (with replacement) from them has
the expectation E[max of n] = sum_i v(i) * ((i/K)^n - ((i-1)/K)^n). Its band is a percentile bootstrap: the K values
resampled with replacement BOOTSTRAP_RESAMPLES times, the estimator computed on each resample, the 2.5th and 97.5th
percentiles at each n (a 95% band). It shows how much the curve depends on which K trials happened to be drawn; it
cannot reach above the best value seen, so at n near K it is narrow and leans low (Tang et al. 2020, Lourie et al.
2023 discuss better bands).

Files, in the search's folder: search.json (the record), search.md (tables and the verdict), trials.csv,
expected_best.png, importances.png and slice.png (Optuna's matplotlib plots)."""

import csv
import io
import json
import warnings
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator

from run_folder import write_atomic

from .epochs import NOTEBOOK_ACCURACY
from .plots import plt, save_figure
from .study import against_the_notebook, interval

SEARCH_FILES = ("search.json", "search.md", "trials.csv", "expected_best.png", "importances.png", "slice.png")
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
BAND = (
    f"{CONFIDENCE:.0%} percentile bootstrap over the complete trials' values ({BOOTSTRAP_RESAMPLES} resamples "
    f"with replacement, seed {BOOTSTRAP_SEED})"
)
CONFIRMED_METRICS = ("eval_accuracy", "dev_accuracy", "test_accuracy", "eval_macro_f1", "eval_loss")


def expected_best_weights(k: int) -> np.ndarray:
    """W[n-1, i-1] = (i/K)^n - ((i-1)/K)^n: the probability that the best of n draws is the i-th smallest value."""
    n = np.arange(1, k + 1)[:, None]
    i = np.arange(1, k + 1)[None, :]
    return (i / k) ** n - ((i - 1) / k) ** n


def expected_best(values) -> np.ndarray:
    """Dodge et al.'s expected best of n trials, n = 1..K, from the K values (maximized)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    return expected_best_weights(len(values)) @ values


def expected_best_band(
    values, confidence: float = CONFIDENCE, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap band of `expected_best` at each n: (lower, upper)."""
    values = np.asarray(values, dtype=np.float64)
    k = len(values)
    rng = np.random.default_rng(seed)
    samples = np.sort(values[rng.integers(0, k, size=(resamples, k))], axis=1)
    curves = samples @ expected_best_weights(k).T
    tail = 100 * (1 - confidence) / 2
    return np.percentile(curves, tail, axis=0), np.percentile(curves, 100 - tail, axis=0)


def curve_record(values) -> dict:
    lower, upper = expected_best_band(values)
    return {
        "n": list(range(1, len(values) + 1)),
        "mean": expected_best(values).tolist(),
        "lower": lower.tolist(),
        "upper": upper.tolist(),
        "band": BAND,
    }


def budgets(k: int) -> list[int]:
    """The numbers of trials the verdict and the table quote: 1, 5 and K, and a few between for the table."""
    return sorted({n for n in (1, 2, 3, 5, 10, 20, 50, 100) if n < k} | {k})


def where_the_notebook_falls(curve: dict, confirmation: dict | None) -> str:
    target = NOTEBOOK_ACCURACY[-1]
    mean = curve["mean"]
    reached = next((n for n, value in zip(curve["n"], mean) if value >= target), None)
    if reached is None:
        text = (
            f"the notebook's {target:.3f} (DistilBERT, one run) lies above the expected best at every budget up to "
            f"{len(mean)} trials (at most {mean[-1]:.4f})"
        )
    else:
        text = (
            f"the notebook's {target:.3f} (DistilBERT, one run) is reached by the expected best after {reached} "
            f"trial{'s' * (reached > 1)}"
        )
    if confirmation:
        text += f"; over the winner's confirming runs, {against_the_notebook(confirmation['metrics']['eval_accuracy'])}"
    return text


def metric_name(metric: str) -> str:
    """`eval_macro_f1` as the reports say it: macro-F1."""
    return {"eval_accuracy": "accuracy", "eval_macro_f1": "macro-F1"}.get(metric, metric)


def verdict(
    trials: list[dict], curve: dict, best: dict, confirmation: dict | None, baseline: dict | None, model: str,
    metric: str = "eval_accuracy", notebook: bool = True,
) -> str:  # fmt: skip
    k = len(curve["n"])
    quoted = [n for n in (1, 5, k) if n <= k]
    parts = [
        f"{n} trial{'s' * (n > 1)}: {curve['mean'][n - 1]:.4f} ({curve['lower'][n - 1]:.4f}–{curve['upper'][n - 1]:.4f})"
        for n in dict.fromkeys(quoted)
    ]
    text = (
        f"Verdict: over {k} complete trials of {model}, the expected best validation {metric_name(metric)} after "
        f"{'; after '.join(parts)} (95% bootstrap band). The best trial, {best['number']}, scored {best['value']:.4f}"
    )
    if confirmation:
        accuracy = confirmation["metrics"][metric]
        seeds = len(accuracy["values"])
        curse = best["value"] - accuracy["mean"]
        text += (
            f"; confirmed over {seeds} seeds (each its own split or sample, batch order and initialisation) its "
            f"configuration gives {accuracy['mean']:.4f} ± {accuracy['std']:.4f} on validation"
        )
        for key, title in ((metric.replace("eval_", "dev_"), "dev"), (metric.replace("eval_", "test_"), "test")):
            if key in confirmation["metrics"]:
                text += f", {confirmation['metrics'][key]['mean']:.4f} ± {confirmation['metrics'][key]['std']:.4f} on {title}"
        if curse >= 0:
            text += f": the trial's score overstates its configuration by {curse:.4f} (the winner's curse, measured)"
        else:  # the other seeds did better than the search's own: no curse measured, only seed-to-seed spread
            text += f": the trial's score understates its configuration by {-curse:.4f} (no winner's curse measured)"
    else:
        text += " (not confirmed: SEEDS=none; a selected trial's score is biased upward)"
    if baseline:
        text += (
            f". The recipe's own seed study ({baseline['path']}) gives {baseline['mean']:.4f} ± {baseline['std']:.4f}"
            f" on validation"
        )
        if confirmation:
            text += f", {confirmation['metrics'][metric]['mean'] - baseline['mean']:+.4f} for the tuning"
    if not notebook or metric != "eval_accuracy":  # the notebook's one number is an accuracy on its own data
        return text + "."
    return text + f". Where the notebook stands: {where_the_notebook_falls(curve, confirmation)}."


def plot_expected_best(curve: dict, confirmation: dict | None, baseline: dict | None, sampler: str, path: Path,
                       metric: str = "eval_accuracy", notebook: bool = True) -> None:  # fmt: skip
    n = np.array(curve["n"])
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ax.plot(n, curve["mean"], "o-", color="tab:blue", ms=3, label="expected best after n trials")
    ax.fill_between(
        n, curve["lower"], curve["upper"], color="tab:blue", alpha=0.2, label=f"{CONFIDENCE:.0%} bootstrap band"
    )
    if notebook and metric == "eval_accuracy":
        ax.axhline(NOTEBOOK_ACCURACY[-1], color="black", ls="--", lw=1,
                   label=f"notebook {NOTEBOOK_ACCURACY[-1]:.3f} (DistilBERT, one run)")  # fmt: skip
    if baseline:
        ax.axhline(
            baseline["mean"],
            color="tab:green",
            ls=":",
            lw=1.5,
            label=f"recipe's seed-study mean {baseline['mean']:.4f} ({baseline['runs']} seeds)",
        )
    else:
        ax.text(
            0.99,
            0.02,
            "recipe's seed-study mean: not given (BASELINE=path/to/seeds.json)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="tab:green",
        )
    if confirmation:
        accuracy = confirmation["metrics"][metric]
        ax.errorbar(
            [n[-1]],
            [accuracy["mean"]],
            yerr=[accuracy["std"]],
            fmt="s",
            color="tab:orange",
            capsize=4,
            label=f"winner confirmed: mean ± std over {len(accuracy['values'])} seeds",
        )
    ax.set(
        title=f"Expected best validation {metric_name(metric)} ({len(n)} trials, {sampler})",
        xlabel="trials (n)",
        ylabel=f"validation {metric_name(metric)}",
    )
    if len(n) > 20:
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, frameon=False, fontsize=8)
    save_figure(fig, path)


def optuna_plots(study, output_dir: Path) -> tuple[dict | None, list[str]]:
    """The parameter importances (Optuna's default evaluator, PED-ANOVA) and their plot, and the slice plot; notes
    for what could not be drawn (e.g. fewer than two complete trials)."""
    import optuna
    from optuna.visualization import matplotlib as optuna_matplotlib

    importances, notes = None, []
    with (
        warnings.catch_warnings(),
        matplotlib.rc_context(),
    ):  # Optuna's plots switch the style to ggplot: for theirs only
        warnings.simplefilter("ignore")  # experimental plots; PED-ANOVA's "importances will be equal" on few trials
        matplotlib.rcParams["figure.figsize"] = (9.0, 4.5)  # the slice plot gives each flag half the width
        for name, plot in (
            ("importances.png", optuna_matplotlib.plot_param_importances),
            ("slice.png", optuna_matplotlib.plot_slice),
        ):
            try:
                if name == "importances.png":
                    importances = dict(optuna.importance.get_param_importances(study))
                axes = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError) as err:
                notes.append(f"{name}: not drawn ({' '.join(str(err).split())})")
                (output_dir / name).unlink(missing_ok=True)
                continue
            figure = (np.asarray(axes).flat[0] if isinstance(axes, np.ndarray) else axes).figure
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")  # as Optuna laid it out
            plt.close(figure)
            write_atomic(output_dir / name, buffer.getvalue())
    return importances, notes


def trials_csv(trials: list[dict], params: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "state", "value", "run", "note", *params])
    for t in trials:
        writer.writerow(
            [
                t["number"],
                t["state"],
                "" if t["value"] is None else t["value"],
                t["run"] or "",
                t.get("note", ""),
                *(t["params"].get(p, "") for p in params),
            ]
        )
    return out.getvalue()


def fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def search_markdown(record: dict, params: list[str]) -> str:
    curve, best, confirmation = record["expected_best"], record["best"], record["confirmation"]
    k = len(curve["n"])
    out = io.StringIO()
    out.write(f"# Hyperparameter search `{record['study']}`: {k} complete trials, {record['sampler']} sampler\n\n")
    out.write(f"{record['verdict']}\n\n")
    out.write(
        f"Trials were scored on {record['selected_on']} ({record['metric']}, {record['direction']}d); "
        f"{record['hygiene']}\n\n"
    )
    out.write(f"## Expected best validation {metric_name(record['metric'])} after n trials\n\n")
    out.write(f"Dodge et al. 2019's estimator over the {k} complete trials; band: {curve['band']}.\n\n")
    out.write("| n | expected best | band low | band high |\n| ---: | ---: | ---: | ---: |\n")
    for n in budgets(k):
        out.write(f"| {n} | {curve['mean'][n - 1]:.4f} | {curve['lower'][n - 1]:.4f} | {curve['upper'][n - 1]:.4f} |\n")
    out.write("\n![expected best](expected_best.png)\n\n## The best trial\n\n")
    out.write(f"Trial {best['number']} ({record['best_run']}/): {record['metric']} {best['value']:.4f}\n\n")
    out.write("| flag | value |\n| --- | --- |\n" + "".join(f"| {p} | {fmt(v)} |\n" for p, v in best["params"].items()))
    out.write("\n## Confirmation\n\n")
    if confirmation:
        seeds = confirmation["seeds"]
        out.write(
            f"The best configuration trained once per seed ({', '.join(map(str, seeds))}; each seed sets the "
            f"split, batch-order and initialisation seeds), in `confirmation/` (seeds.md there):\n\n"
        )
        out.write("| metric | mean ± std | min | max | 95% CI |\n| --- | ---: | ---: | ---: | ---: |\n")
        for key in CONFIRMED_METRICS:
            if key in confirmation["metrics"]:
                s = confirmation["metrics"][key]
                out.write(
                    f"| {key} | {s['mean']:.4f} ± {s['std']:.4f} | {s['min']:.4f} | {s['max']:.4f} | {interval(s)} |\n"
                )
        for note in record.get("confirmation_notes", []):
            out.write(f"\n{note}\n")
    else:
        out.write("Not run (SEEDS=none).\n")
    out.write("\n## Trials\n\n| trial | state | value | " + " | ".join(params) + " | run | note |\n")
    out.write("| ---: | --- | ---: |" + " ---: |" * len(params) + " --- | --- |\n")
    for t in sorted(record["trials"], key=lambda t: (t["value"] is None, -(t["value"] or 0), t["number"])):
        value = "" if t["value"] is None else f"{t['value']:.4f}"
        cells = [fmt(t["params"][p]) if p in t["params"] else "" for p in params]
        out.write(
            f"| {t['number']} | {t['state']} | {value} | "
            + " | ".join(cells)
            + f" | {t['run'] or ''} | {t.get('note', '')} |\n"
        )
    out.write("\n## Parameter importances\n\n")
    if record["importances"]:
        out.write(
            "Optuna's default evaluator (PED-ANOVA) over the complete trials: the share of the score's variation "
            "each flag explains, on this search's few trials a rough guide only.\n\n"
        )
        out.write("| flag | importance |\n| --- | ---: |\n")
        out.write("".join(f"| {p} | {v:.3f} |\n" for p, v in record["importances"].items()))
        out.write("\n![importances](importances.png)\n")
    if (Path(record["_output_dir"]) / "slice.png").exists():
        out.write("\n![each trial's score against each flag](slice.png)\n")
    for note in record["plot_notes"]:
        out.write(f"\n{note}\n")
    return out.getvalue()


def write_search_report(
    output_dir: Path,
    *,
    study,
    study_name: str,
    metric: str,
    direction: str,
    sampler: str,
    space: dict,
    storage: str,
    trials: list[dict],
    confirmation: dict | None,
    baseline: dict | None,
    selected_on: str,
    hygiene: str,
    model: str,
    confirmation_notes: list[str] = (),
    notebook: bool = True,
) -> dict:
    """Every file of the report (SEARCH_FILES) in `output_dir`, search.json last; returns its record. `trials`: each
    trial as {number, state, params, value, run, note}; `study`: the Optuna study, for its importance and slice plots."""
    output_dir = Path(output_dir)
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    values = [t["value"] for t in complete]
    best_trial = max(complete, key=lambda t: (t["value"], -t["number"]))
    best = {"number": best_trial["number"], "params": best_trial["params"], "value": best_trial["value"]}
    curve = curve_record(values)
    params = list(space)
    importances, plot_notes = optuna_plots(study, output_dir)
    record = {
        "study": study_name,
        "metric": metric,
        "direction": direction,
        "sampler": sampler,
        "space": space,
        "storage": storage,
        "selected_on": selected_on,
        "hygiene": hygiene,
        "trials": trials,
        "best": best,
        "best_run": best_trial["run"],
        "expected_best": curve,
        "confirmation": confirmation,
        "confirmation_notes": list(confirmation_notes),
        "baseline": baseline,
        "importances": importances,
        "plot_notes": plot_notes,
    }
    record["verdict"] = verdict(trials, curve, best, confirmation, baseline, model, metric, notebook)
    write_atomic(output_dir / "trials.csv", trials_csv(trials, params))
    plot_expected_best(curve, confirmation, baseline, sampler, output_dir / "expected_best.png", metric, notebook)
    write_atomic(output_dir / "search.md", search_markdown(record | {"_output_dir": str(output_dir)}, params))
    write_atomic(output_dir / "search.json", json.dumps(record, indent=2))  # last: the search is reported
    return record
