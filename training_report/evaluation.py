"""The final model's evaluation on each split: a Markdown report, a confusion-matrix picture and the
misclassified reviews.

The confusion matrix is not a scalar, so it lives here (the picture and the report), not in the Trainer's
logs or `*_results.json`, which hold scalars only.
"""

import io

import numpy as np

from .outputs import write_atomic
from .plots import plot_confusion_matrix
from .splits import Split


def misclassified_tsv(reviews: list[str], references, logits, label_names: list[str]) -> str:
    """`review<TAB>gold<TAB>predicted<TAB>probability` for every wrong prediction, most confident first;
    probability is the model's softmax probability of the class it predicted."""
    logits = np.asarray(logits, dtype=np.float64)
    probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    predictions = probabilities.argmax(-1)
    wrong = list(np.flatnonzero(predictions != np.asarray(references)))
    wrong.sort(key=lambda i: -probabilities[i, predictions[i]])
    lines = ["review\tgold\tpredicted\tprobability"] + [
        f"{reviews[i]}\t{label_names[references[i]]}\t{label_names[predictions[i]]}\t{probabilities[i, predictions[i]]:.4f}"
        for i in wrong
    ]
    return "\n".join(lines) + "\n"


def write_split_evaluation(output_dir, split: Split, reviews: list[str], output, scores: dict, label_names: list[str]):
    """`{prefix}_confusion_matrix.png` and `{prefix}_misclassified.tsv` for one split's `Trainer.predict` output."""
    title = f"{split.title}: accuracy {scores['accuracy']:.4f}"
    plot_confusion_matrix(scores["confusion_matrix"], label_names, title, output_dir / f"{split.prefix}_confusion_matrix.png")
    tsv = misclassified_tsv(reviews, output.label_ids, output.predictions, label_names)
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
