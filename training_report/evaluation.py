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


def class_key(name: str) -> str:
    """A label's name as it appears in metric keys (`f1_very_negative`): words joined by '_'."""
    return "_".join(str(name).split())


def score(logits, references, label_names: list[str], ordinal: bool = False) -> dict:
    """The metric module's scores of `logits` (one row per review) against the gold label ids `references`: accuracy,
    per-class precision / recall / F1 / support, macro- and weighted-F1, the confusion matrix, with `ordinal` labels the
    share of errors on a neighbouring class, and `samples`, the rows scored."""
    predictions = np.asarray(logits).argmax(-1)
    scores = classification().compute(predictions=predictions, references=references,
                                      label_names=[class_key(name) for name in label_names], ordinal=ordinal)  # fmt: skip
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
    """One row per split (reviews, loss, accuracy, macro- and weighted-F1, and for ordered labels the share of errors
    on a neighbouring class), then each split's per-class table and confusion matrix, in the order of `splits`.
    `results[prefix]` holds the metric module's scores plus `loss` and `samples`."""
    results = {prefix: results[prefix] for prefix in splits if prefix in results}
    ordinal = any("neighbour_errors" in r for r in results.values())
    out = io.StringIO()
    out.write("| Split | Reviews | Loss | Accuracy | Macro-F1 | Weighted-F1 |" + " Errors on a neighbour |" * ordinal + "\n")
    out.write("| --- |" + " ---: |" * (5 + ordinal) + "\n")
    for prefix, r in results.items():
        neighbour = f" {r['neighbour_errors']:.4f} |" if ordinal else ""
        out.write(f"| {splits[prefix].title} | {r['samples']} | {r['loss']:.4f} | {r['accuracy']:.4f} "
                  f"| {r['macro_f1']:.4f} | {r['weighted_f1']:.4f} |{neighbour}\n")  # fmt: skip
    for prefix, r in results.items():
        out.write(f"\nPer class, {splits[prefix].title}\n\n| Class | Precision | Recall | F1 | Support |\n")
        out.write("| --- | ---: | ---: | ---: | ---: |\n")
        for name in label_names:
            key = class_key(name)
            out.write(f"| {name} | {r[f'precision_{key}']:.4f} | {r[f'recall_{key}']:.4f} | {r[f'f1_{key}']:.4f} "
                      f"| {r[f'support_{key}']} |\n")  # fmt: skip
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
