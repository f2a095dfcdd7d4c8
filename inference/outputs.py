"""What prediction writes: the predictions TSV, and for labelled input its evaluation (scores, report, confusion
matrix, misclassified reviews) through the same scoring and report writers as a run's splits."""

import json
from pathlib import Path

import numpy as np

from run_folder import write_atomic
from training_report import Split, cross_entropy, evaluation_markdown, probabilities, score, write_split_evaluation

from .inputs import Reviews


def predictions_tsv(reviews: Reviews, logits: np.ndarray, label_names: list[str]) -> str:
    """`review<TAB>label<TAB>probability` (of the predicted label) per review, in input order; for GLUE's unlabelled
    test file, GLUE's submission layout `index<TAB>prediction` (the label's id)."""
    predicted = logits.argmax(-1)
    if reviews.glue_test:
        lines = ["index\tprediction"] + [f"{index}\t{label}" for index, label in zip(reviews.indices, predicted)]
    else:
        confidence = probabilities(logits).max(-1)
        lines = ["review\tlabel\tprobability"] + [
            f"{review}\t{label_names[label]}\t{p:.4f}" for review, label, p in zip(reviews.texts, predicted, confidence)
        ]
    return "\n".join(lines) + "\n"


def gold_ids(reviews: Reviews, label_names: list[str]) -> np.ndarray:
    return np.array([label_names.index(label) for label in reviews.labels])


def score_reviews(reviews: Reviews, logits: np.ndarray, label_names: list[str]) -> dict:
    """The scores against the gold labels and the cross-entropy `loss`, as a run reports each evaluated split."""
    references = gold_ids(reviews, label_names)
    return score(logits, references, label_names) | {"loss": cross_entropy(logits, references)}


def write_evaluation(path: Path, prefix: str, reviews: Reviews, logits, scores: dict, label_names: list[str]) -> None:
    """Beside the predictions `path`, what the run writes for each split: `{prefix}_evaluation.md` (the report),
    `{prefix}_results.json` (its scalars), `{prefix}_confusion_matrix.png`, `{prefix}_misclassified.tsv`."""
    folder = Path(path).parent
    split = Split(prefix, title=prefix)
    write_split_evaluation(folder, split, reviews.texts, logits, gold_ids(reviews, label_names), scores, label_names)
    scalars = {f"{prefix}_{key}": value for key, value in scores.items() if isinstance(value, (int, float))}
    write_atomic(folder / f"{prefix}_results.json", json.dumps(scalars, indent=4, sort_keys=True))
    write_atomic(folder / f"{prefix}_evaluation.md", evaluation_markdown({prefix: scores}, {prefix: split}, label_names))
