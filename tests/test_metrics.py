"""The `evaluate` module in metrics/classification, loaded by path offline: scores worked out by hand."""

import evaluate
import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def classification():
    return evaluate.load(str(ROOT / "metrics" / "classification"))


def test_scores_of_a_small_case_worked_out_by_hand(classification):
    # gold:      n n n n p p p p p p
    # predicted: n n n p p p p p n n  -> 3 + 4 right of 10; negative: P 3/5 R 3/4, positive: P 4/5 R 4/6
    references = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    predictions = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0]
    scores = classification.compute(predictions=predictions, references=references, label_names=["negative", "positive"])
    f1_negative, f1_positive = 2 * 0.6 * 0.75 / 1.35, 2 * 0.8 * (4 / 6) / (0.8 + 4 / 6)
    assert scores.pop("confusion_matrix") == [[3, 1], [2, 4]]  # rows gold, columns predicted
    assert scores == pytest.approx({
        "accuracy": 0.7,
        "precision_negative": 0.6, "recall_negative": 0.75, "f1_negative": f1_negative,
        "precision_positive": 0.8, "recall_positive": 4 / 6, "f1_positive": f1_positive,
        "macro_f1": (f1_negative + f1_positive) / 2,
    })  # fmt: skip


def test_a_class_never_predicted_scores_zero_not_nan(classification):
    scores = classification.compute(predictions=[1, 1, 1], references=[0, 1, 1], label_names=["negative", "positive"])
    assert scores["precision_negative"] == scores["recall_negative"] == scores["f1_negative"] == 0.0
    assert scores["recall_positive"] == 1.0 and scores["precision_positive"] == pytest.approx(2 / 3)
    assert scores["confusion_matrix"] == [[0, 1], [0, 2]]


def test_a_class_absent_from_both_still_has_its_row_and_keys(classification):
    scores = classification.compute(predictions=[1, 1], references=[1, 1], label_names=["negative", "positive"])
    assert scores["confusion_matrix"] == [[0, 0], [0, 2]] and scores["accuracy"] == 1.0
    assert scores["f1_negative"] == 0.0 and scores["macro_f1"] == 0.5
