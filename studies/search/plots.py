"""A search's plots: the expected best after n trials with its band, the notebook, the baseline and the confirmed
winner (expected_best.png); Optuna's parameter importances and slice plots (importances.png, slice.png)."""

import io
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from run_folder import write_atomic
from training_report import NOTEBOOK_ACCURACY, save_figure

from .curve import CONFIDENCE
from .verdict import metric_name


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
