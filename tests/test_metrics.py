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
        "precision_negative": 0.6, "recall_negative": 0.75, "f1_negative": f1_negative, "support_negative": 4,
        "precision_positive": 0.8, "recall_positive": 4 / 6, "f1_positive": f1_positive, "support_positive": 6,
        "macro_f1": (f1_negative + f1_positive) / 2, "weighted_f1": (4 * f1_negative + 6 * f1_positive) / 10,
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


def test_five_ordered_classes_by_hand_and_the_errors_that_land_on_a_neighbour(classification):
    # gold:      0 1 2 3 4 4 2 0
    # predicted: 0 2 2 3 3 0 2 1  -> 4 right of 8; errors 1->2, 4->3, 0->1 are one class away, 4->0 is not
    references, predictions = [0, 1, 2, 3, 4, 4, 2, 0], [0, 2, 2, 3, 3, 0, 2, 1]
    names = ["very_negative", "negative", "neutral", "positive", "very_positive"]
    scores = classification.compute(predictions=predictions, references=references, label_names=names, ordinal=True)
    assert scores["accuracy"] == 4 / 8 and scores["neighbour_errors"] == pytest.approx(3 / 4)
    assert [scores[f"support_{name}"] for name in names] == [2, 1, 2, 1, 2]
    assert scores["confusion_matrix"][4] == [1, 0, 0, 1, 0]
    f1 = [scores[f"f1_{name}"] for name in names]
    assert scores["weighted_f1"] == pytest.approx(sum(f * n for f, n in zip(f1, [2, 1, 2, 1, 2])) / 8)
    assert "neighbour_errors" not in classification.compute(predictions=predictions, references=references)
