"""What prediction writes: the predictions TSV, and for labelled input its evaluation (scores, report, confusion
matrix, misclassified reviews) through the same scoring and report writers as a run's splits."""

import json
from pathlib import Path

import numpy as np

from errors import ProjectError
from run_folder import check_can_write, write_atomic
from sst_data import Reviews
from training_report import (
    PREDICTION_HEADERS,
    Split,
    cross_entropy,
    evaluation_markdown,
    score,
    write_split_evaluation,
)

EVALUATION_FILES = ("{}_evaluation.md", "{}_results.json", "{}_confusion_matrix.png", "{}_misclassified.tsv")


def evaluation_files(predictions: Path) -> list[Path]:
    """What predict writes beside the predictions of labelled input (named by the predictions file)."""
    return [predictions.with_name(name.format(predictions.stem)) for name in EVALUATION_FILES]


def written_by_predict(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.readline().decode("utf-8", "replace").rstrip("\r\n").startswith(PREDICTION_HEADERS)


def check_targets(predictions: Path, source: str, labelled: bool) -> None:
    """Every file predict would write, checked before the model loads: never the input itself, never a folder or a
    file that predict did not write (a user's own file of that name is left alone), and somewhere writable."""
    flag = "--predictions"
    if source != "-" and predictions.exists() and predictions.resolve() == Path(source).resolve():
        raise ProjectError(f"{flag} {predictions}: is the input file, whose reviews (and labels) the predictions would "
                           "replace; write them to another file")  # fmt: skip
    if predictions.is_dir():
        raise ProjectError(f"{flag} {predictions}: is a folder; name a file, e.g. {predictions / 'predictions.tsv'}")
    ours = predictions.is_file() and written_by_predict(predictions)
    if predictions.exists() and not ours:
        raise ProjectError(f"{flag} {predictions}: exists and is not a predictions file (its first line is not "
                           f"{' or '.join(map(repr, PREDICTION_HEADERS))}); choose another file, or move it away")  # fmt: skip
    others = [path for path in evaluation_files(predictions) if labelled and path.exists() and not ours]
    if others:
        raise ProjectError(f"{flag} {predictions}: {', '.join(map(str, others))} would be overwritten by its evaluation "
                           "and was not written with these predictions; choose another file, or move it away")  # fmt: skip
    check_can_write(predictions, flag)


def gold_ids(reviews: Reviews, label_names: list[str]) -> np.ndarray:  # names: read_rows(label_names=...) made them so
    return np.array([label_names.index(label) for label in reviews.labels])


def score_reviews(reviews: Reviews, logits: np.ndarray, label_names: list[str]) -> dict:
    """The scores against the gold labels and the cross-entropy `loss`, as a run reports each evaluated split."""
    references = gold_ids(reviews, label_names)
    return score(logits, references, label_names) | {"loss": cross_entropy(logits, references)}


def write_evaluation(path: Path, prefix: str, reviews: Reviews, logits, scores: dict, label_names: list[str]) -> None:
    """Beside the predictions `path`, what the run writes for each split (`evaluation_files`): the report, its
    scalars, the confusion matrix and the misclassified reviews."""
    folder = Path(path).parent
    split = Split(prefix, title=prefix)
    write_split_evaluation(folder, split, reviews.texts, logits, gold_ids(reviews, label_names), scores, label_names)
    report, results = evaluation_files(Path(path))[:2]
    scalars = {f"{prefix}_{key}": value for key, value in scores.items() if isinstance(value, (int, float))}
    write_atomic(results, json.dumps(scalars, indent=4, sort_keys=True))
    write_atomic(report, evaluation_markdown({prefix: scores}, {prefix: split}, label_names))
