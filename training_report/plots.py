import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from run_folder import write_atomic

from .epochs import NOTEBOOK_ACCURACY


def plot_epochs(rows: list[dict], path, notebook: bool = True) -> None:
    save_figure(epochs_figure(rows, notebook), path)


def epochs_figure(rows: list[dict], notebook: bool = True):
    """Training/validation loss and validation accuracy per epoch, and, on the notebook's data, the notebook's accuracy
    for reference. A series the run did not log (no validation with `--eval_strategy no`) is left out, not drawn empty."""
    epochs = [r["epoch"] for r in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for key, label in (("training_loss", "training"), ("validation_loss", "validation")):
        if any(r[key] is not None for r in rows):
            loss_ax.plot(epochs, [r[key] for r in rows], "o-", label=label)
    loss_ax.set(title="Loss", xlabel="epoch", ylabel="cross-entropy", xticks=epochs)
    loss_ax.ticklabel_format(axis="y", useOffset=False)  # losses as they are, never "+6.93e-1" offsets
    below(loss_ax)
    if any(r["accuracy"] is not None for r in rows):
        acc_ax.plot(epochs, [r["accuracy"] for r in rows], "o-", label="this run")
    if notebook:
        reference = NOTEBOOK_ACCURACY[: len(epochs)]
        acc_ax.plot(epochs[: len(reference)], reference, "s--", color="grey", label="notebook (DistilBERT)")
    acc_ax.set(title="Validation accuracy", xlabel="epoch", ylabel="accuracy", xticks=epochs)
    below(acc_ax)
    return fig


def below(ax) -> None:
    """The legend under the axes: inside, it can hide a point (one epoch puts them at the top and bottom edges)."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, frameon=False)


def plot_confusion_matrix(matrix: list[list[int]], label_names: list[str], title: str, path) -> None:
    save_figure(confusion_figure(matrix, label_names, title), path)


def confusion_figure(matrix: list[list[int]], label_names: list[str], title: str):
    """Counts per (gold, predicted) pair, rows gold and columns predicted (scikit-learn's display), under the title
    wrapped to the figure's width: a split's title and its accuracy run past 4.5 inches on one line. The figure grows
    with the classes, long names wrap onto lines of their own, and counts shrink to fit their cells."""
    classes = len(label_names)
    side = max(4.5, 1.1 * classes + 1.5)
    fig, ax = plt.subplots(figsize=(side, side - 0.5), constrained_layout=True)
    names = [textwrap.fill(str(name), 10) for name in label_names]
    display = ConfusionMatrixDisplay(np.array(matrix), display_labels=names)
    display.plot(ax=ax, cmap="Blues", colorbar=False, values_format="d", text_kw={"fontsize": 14 if classes <= 3 else 11})
    ax.set(xlabel="predicted", ylabel="gold", title=textwrap.fill(title, int(side * 10.5)))
    return fig


def save_figure(fig, path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
