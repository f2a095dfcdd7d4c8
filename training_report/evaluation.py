"""Scoring predictions, and a split's evaluation: the one path shared by training (each epoch's validation and the
final evaluation of every split) and prediction on labelled input. The scores come from the project's `evaluate`
module; the reports are a Markdown table, a confusion-matrix picture and the misclassified reviews.

The confusion matrix is not a scalar, so it lives here (the picture and the report), not in the Trainer's
logs or `*_results.json`, which hold scalars only.
"""

import functools
import io

import evaluate
import numpy as np

from metrics import CLASSIFICATION
from run_folder import write_atomic

from .plots import plot_confusion_matrix
from .splits import Split


@functools.cache
def classification():
    return evaluate.load(CLASSIFICATION)


def score(logits, references, label_names: list[str]) -> dict:
    """The metric module's scores of `logits` (one row per review) against the gold label ids `references`: accuracy,
    per-class precision / recall / F1, macro-F1, the confusion matrix, and `samples`, the rows scored."""
    predictions = np.asarray(logits).argmax(-1)
    scores = classification().compute(predictions=predictions, references=references, label_names=label_names)
    return scores | {"samples": len(references)}


def probabilities(logits) -> np.ndarray:
    """Softmax over the classes, in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def cross_entropy(logits, references) -> float:
    """The mean cross-entropy loss of `logits` against `references` (the Trainer's `*_loss`, for logits it did not make)."""
    references = np.asarray(references)
    return float(-np.log(probabilities(logits)[np.arange(len(references)), references]).mean())


def misclassified_tsv(reviews: list[str], references, logits, label_names: list[str]) -> str:
    """`review<TAB>gold<TAB>predicted<TAB>probability` for every wrong prediction, most confident first;
    probability is the model's softmax probability of the class it predicted."""
    probability = probabilities(logits)
    predictions = probability.argmax(-1)
    wrong = list(np.flatnonzero(predictions != np.asarray(references)))
    wrong.sort(key=lambda i: -probability[i, predictions[i]])
    lines = ["review\tgold\tpredicted\tprobability"] + [
        f"{reviews[i]}\t{label_names[references[i]]}\t{label_names[predictions[i]]}\t{probability[i, predictions[i]]:.4f}"
        for i in wrong
    ]
    return "\n".join(lines) + "\n"


def write_split_evaluation(output_dir, split: Split, reviews: list[str], logits, references, scores: dict,
                           label_names: list[str]) -> None:  # fmt: skip
    """`{prefix}_confusion_matrix.png` and `{prefix}_misclassified.tsv` for one split's predictions (`scores`: `score()`'s)."""
    title = f"{split.title}: accuracy {scores['accuracy']:.4f}"
    plot_confusion_matrix(scores["confusion_matrix"], label_names, title, output_dir / f"{split.prefix}_confusion_matrix.png")
    tsv = misclassified_tsv(reviews, references, logits, label_names)
    write_atomic(output_dir / f"{split.prefix}_misclassified.tsv", tsv)


def evaluation_markdown(results: dict[str, dict], splits: dict[str, Split], label_names: list[str]) -> str:
    """One row per split (reviews, loss, accuracy, macro-F1, per-class P/R/F1), then each confusion matrix, in the
    order of `splits`. `results[prefix]` holds the metric module's scores plus `loss` and `samples`."""
    results = {prefix: results[prefix] for prefix in splits if prefix in results}
    per_class = [f"{kind} {name}" for name in label_names for kind in ("Precision", "Recall", "F1")]
    out = io.StringIO()
    out.write("| Split | Reviews | Loss | Accuracy | Macro-F1 | " + " | ".join(per_class) + " |\n")
    out.write("| --- |" + " ---: |" * (4 + len(per_class)) + "\n")
    for prefix, r in results.items():
        cells = [f"{r[f'{kind}_{name}']:.4f}" for name in label_names for kind in ("precision", "recall", "f1")]
        out.write(
            f"| {splits[prefix].title} | {r['samples']} | {r['loss']:.4f} | {r['accuracy']:.4f} "
            f"| {r['macro_f1']:.4f} | " + " | ".join(cells) + " |\n"
        )
    for prefix, r in results.items():
        out.write(f"\nConfusion matrix, {splits[prefix].title} (rows: gold, columns: predicted)\n\n")
        out.write("| gold \\ predicted | " + " | ".join(label_names) + " |\n")
        out.write("| --- |" + " ---: |" * len(label_names) + "\n")
        for name, row in zip(label_names, r["confusion_matrix"]):
            out.write(f"| {name} | " + " | ".join(map(str, row)) + " |\n")
    return out.getvalue()


def write_evaluation_report(results: dict[str, dict], splits: dict[str, Split], label_names: list[str], output_dir) -> str:
    """`evaluation.md` beside `epoch_stats.md`; returns its text."""
    report = evaluation_markdown(results, splits, label_names)
    write_atomic(output_dir / "evaluation.md", report)
    return report
