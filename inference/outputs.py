"""What prediction writes: the predictions TSV, and for labelled input the dev split's evaluation (scores, report,
confusion matrix, misclassified reviews) through the project's metric module and report writers."""

import json
from pathlib import Path

import evaluate
import numpy as np
from transformers.trainer_utils import PredictionOutput

from metrics import CLASSIFICATION
from training_report import Split, evaluation_markdown, write_atomic, write_split_evaluation

from .backends import probabilities
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


def score(reviews: Reviews, logits: np.ndarray, label_names: list[str]) -> dict:
    """The metric module's scores against the gold labels, plus the cross-entropy `loss` and `samples`, as the run
    reports each evaluated split."""
    references = gold_ids(reviews, label_names)
    metric = evaluate.load(CLASSIFICATION)
    scores = metric.compute(predictions=logits.argmax(-1), references=references, label_names=label_names)
    loss = -np.log(probabilities(logits)[np.arange(len(references)), references]).mean()
    return scores | {"loss": float(loss), "samples": len(references)}


def write_evaluation(path: Path, prefix: str, reviews: Reviews, logits, scores: dict, label_names: list[str]) -> None:
    """Beside the predictions `path`, what the run writes for each split: `{prefix}_evaluation.md` (the report),
    `{prefix}_results.json` (its scalars), `{prefix}_confusion_matrix.png`, `{prefix}_misclassified.tsv`."""
    folder = Path(path).parent
    output = PredictionOutput(predictions=logits, label_ids=gold_ids(reviews, label_names), metrics=None)
    split = Split(prefix, title=prefix)
    write_split_evaluation(folder, split, reviews.texts, output, scores, label_names)
    scalars = {f"{prefix}_{key}": value for key, value in scores.items() if isinstance(value, (int, float))}
    write_atomic(folder / f"{prefix}_results.json", json.dumps(scalars, indent=4, sort_keys=True))
    write_atomic(folder / f"{prefix}_evaluation.md", evaluation_markdown({prefix: scores}, {prefix: split}, label_names))
