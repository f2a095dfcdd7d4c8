"""A run that belongs to a seed study: its own numbers beside the study's, for its model card (the study's summary,
seeds.json, is written by `studies.summary`)."""

import csv
import json
from pathlib import Path

from run_folder import FINISHED_MARKER


def run_metrics(run_dir: Path) -> dict[str, float]:
    """A finished run's scalar results, and its validation accuracy after each epoch (`epoch_<k>_accuracy`)."""
    results = json.loads((run_dir / FINISHED_MARKER).read_text(encoding="utf-8"))
    with open(run_dir / "epoch_stats.csv", encoding="utf-8") as f:
        epochs = {f"epoch_{row['epoch']}_accuracy": float(row["accuracy"]) for row in csv.DictReader(f) if row["accuracy"]}
    return {k: v for k, v in results.items() if isinstance(v, (int, float)) and not isinstance(v, bool)} | epochs


def study_card(run_dir: Path) -> dict | None:
    """For a run that belongs to a summarized seed study (its folder's parent holds seeds.json naming it): the study's
    seeds and verdict, and its mean ± std beside this run's own numbers, for the run's model card. None otherwise."""
    path = Path(run_dir).resolve().parent / "seeds.json"
    if not path.is_file():
        return None
    study = json.loads(path.read_text(encoding="utf-8"))
    if Path(run_dir).resolve().name not in study["runs"].values():
        return None
    own = run_metrics(Path(run_dir))
    rows = [
        {"metric": key, "run": own[key]} | {k: study["metrics"][key][k] for k in ("mean", "std", "min", "max")}
        for key in ("eval_accuracy", "dev_accuracy", "test_accuracy", "eval_macro_f1", "eval_loss")
        if key in study["metrics"] and key in own
    ]
    return {"seeds": study["seeds"], "vary": study["vary"], "verdict": study["verdict"], "rows": rows}
