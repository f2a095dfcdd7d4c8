"""The `evaluate` module in metrics/classification, loaded by path offline, against scikit-learn's reference."""

import evaluate
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .conftest import ROOT


@pytest.fixture(scope="module")
def classification():
    return evaluate.load(str(ROOT / "metrics" / "classification"))


def test_scores_match_scikit_learn(classification):
    rng = np.random.default_rng(0)
    references = rng.integers(0, 2, size=500)
    predictions = np.where(rng.random(500) < 0.8, references, 1 - references)
    scores = classification.compute(predictions=predictions, references=references, label_names=["negative", "positive"])
    precision, recall, f1, _ = precision_recall_fscore_support(references, predictions)
    assert scores["accuracy"] == pytest.approx(accuracy_score(references, predictions))
    for i, name in enumerate(["negative", "positive"]):
        assert scores[f"precision_{name}"] == pytest.approx(precision[i])
        assert scores[f"recall_{name}"] == pytest.approx(recall[i])
        assert scores[f"f1_{name}"] == pytest.approx(f1[i])
    assert scores["macro_f1"] == pytest.approx(f1_score(references, predictions, average="macro"))
    assert scores["confusion_matrix"] == confusion_matrix(references, predictions).tolist()


def test_a_class_never_predicted_scores_zero_not_nan(classification):
    scores = classification.compute(predictions=[1, 1, 1], references=[0, 1, 1], label_names=["negative", "positive"])
    assert scores["precision_negative"] == scores["recall_negative"] == scores["f1_negative"] == 0.0
    assert scores["recall_positive"] == 1.0 and scores["precision_positive"] == pytest.approx(2 / 3)
    assert scores["confusion_matrix"] == [[0, 1], [0, 2]]
