import io

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

from .epochs import NOTEBOOK_ACCURACY  # noqa: E402
from .files import write_atomic  # noqa: E402


def plot_epochs(rows: list[dict], path) -> None:
    """Training/validation loss and validation accuracy per epoch, the notebook's accuracy for reference."""
    epochs = [r["epoch"] for r in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    loss_ax.plot(epochs, [r["training_loss"] for r in rows], "o-", label="training")
    loss_ax.plot(epochs, [r["validation_loss"] for r in rows], "o-", label="validation")
    loss_ax.set(title="Loss", xlabel="epoch", ylabel="cross-entropy", xticks=epochs)
    loss_ax.legend()
    acc_ax.plot(epochs, [r["accuracy"] for r in rows], "o-", label="this run")
    reference = NOTEBOOK_ACCURACY[: len(epochs)]
    acc_ax.plot(epochs[: len(reference)], reference, "s--", color="grey", label="notebook (DistilBERT)")
    acc_ax.set(title="Validation accuracy", xlabel="epoch", ylabel="accuracy", xticks=epochs)
    acc_ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
