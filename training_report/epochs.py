"""The notebook's per-epoch table, rebuilt from the Trainer's `log_history`.

Everything comes from `trainer_state.json`'s history (plus the per-epoch training time
that `EpochTimer` adds to it), so a resumed run's table is whole as well.
"""

import csv
import io
import math
import time

from transformers import TrainerCallback, TrainerState

from run_folder import write_atomic

# The reference notebook's validation accuracy after each epoch (DistilBERT, 4 epochs).
NOTEBOOK_ACCURACY = [0.864, 0.863, 0.875, 0.881]
COLUMNS = ["epoch", "training_loss", "validation_loss", "accuracy", "training_time", "validation_time"]


class EpochTimer(TrainerCallback):
    """Adds each epoch's training seconds (evaluation excluded) to `state.log_history`."""

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        state.log_history.append(
            {"epoch": state.epoch, "step": state.global_step, "epoch_train_runtime": time.perf_counter() - self.start}
        )


def epoch_table(log_history: list[dict]) -> list[dict]:
    """One row per completed epoch: training loss (mean of that epoch's logged losses), validation
    loss and accuracy, training and validation seconds. Entries are keyed by `ceil(epoch)`; a row's `epoch` is where
    that epoch ended: its number, or a fraction when the run stopped inside it (--max_steps)."""
    rows: dict[int, dict] = {}
    losses: dict[int, list[float]] = {}
    for entry in log_history:
        if "epoch" not in entry:
            continue
        epoch = math.ceil(round(entry["epoch"], 6))
        row = rows.setdefault(epoch, dict.fromkeys(COLUMNS) | {"epoch": epoch})
        if "loss" in entry:
            losses.setdefault(epoch, []).append(entry["loss"])
            row["training_loss"] = sum(losses[epoch]) / len(losses[epoch])
        if "eval_loss" in entry:
            row.update(
                validation_loss=entry["eval_loss"],
                accuracy=entry.get("eval_accuracy"),
                validation_time=entry["eval_runtime"],
            )
        if "epoch_train_runtime" in entry:
            row["training_time"] = entry["epoch_train_runtime"]
            reached = round(entry["epoch"], 4)
            row["epoch"] = int(reached) if reached == int(reached) else reached
    return [rows[epoch] for epoch in sorted(rows) if rows[epoch]["training_time"] is not None]


def run_training_loss(state: TrainerState, last_call_loss: float) -> float:
    """The whole run's mean training loss, from the logged losses weighted by the steps each covers.

    `Trainer.train()` returns the mean over the steps of that call only, so a resumed run would report
    another number than an uninterrupted one; the log history is restored on resume and covers them all.
    Falls back to `last_call_loss` when logging left the last steps unlogged (logging_steps not dividing the run).
    """
    total, logged_step = 0.0, 0
    for entry in state.log_history:
        if "loss" in entry:
            total += entry["loss"] * (entry["step"] - logged_step)
            logged_step = entry["step"]
    return total / logged_step if logged_step == state.global_step > 0 else last_call_loss


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_markdown(rows: list[dict]) -> str:
    def cell(value, digits):
        return "—" if value is None else f"{value:.{digits}f}"

    lines = [
        "| Epoch | Training loss | Validation loss | Accuracy | Training time (s) | Validation time (s) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['epoch']} | {cell(r['training_loss'], 4)} | {cell(r['validation_loss'], 4)} "
            f"| {cell(r['accuracy'], 4)} | {cell(r['training_time'], 1)} | {cell(r['validation_time'], 1)} |"
        )
    return "\n".join(lines) + "\n"


def write_epoch_table(rows: list[dict], output_dir) -> None:
    write_atomic(output_dir / "epoch_stats.csv", to_csv(rows))
    write_atomic(output_dir / "epoch_stats.md", to_markdown(rows))
