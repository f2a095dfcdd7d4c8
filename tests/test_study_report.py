"""What a seed study and a search's confirmation conclude from their runs: no interval outside what the metric can
be, no verdict from fewer than 3 runs, and the verdict's wording at both edges of the interval."""

import numpy as np
import pytest
from scipy import stats

from studies.search.verdict import verdict as search_verdict
from studies.summary import metric_range, spread, summary_markdown, verdict
from training_report.epochs import NOTEBOOK_ACCURACY

TARGET = NOTEBOOK_ACCURACY[-1]  # 0.881
CURVE = {"n": [1, 2], "mean": [0.84, 0.85], "lower": [0.83, 0.84], "upper": [0.85, 0.85]}


def test_two_seeds_intervals_stay_inside_the_metrics_range_and_say_they_were_cut():
    # the case: two runs scoring 0.55 and 0.62 gave 0.1565–1.0117 for accuracy
    accuracy = spread([0.55, 0.62], metric_range("eval_accuracy"))
    half = stats.t.ppf(0.975, 1) * np.std([0.55, 0.62], ddof=1) / np.sqrt(2)
    assert accuracy["ci95"] == pytest.approx([0.585 - half, 1.0]) and accuracy["ci95_clipped"]
    f1 = spread([0.20, 0.95], metric_range("eval_macro_f1"))
    assert f1["ci95"] == [0.0, 1.0] and f1["ci95_clipped"]
    loss = spread([0.1, 2.0], metric_range("eval_loss"))  # a loss has no upper bound, but is never negative
    assert loss["ci95"][0] == 0.0 and loss["ci95"][1] > 2.0 and loss["ci95_clipped"]
    narrow = spread([0.84, 0.85, 0.86], metric_range("eval_accuracy"))
    assert not narrow["ci95_clipped"] and narrow["ci95"] == pytest.approx([0.85 - 0.0248414, 0.85 + 0.0248414])
    assert metric_range("dev_precision_positive") == (0.0, 1.0) and metric_range("train_runtime")[1] == float("inf")
    table = summary_markdown({"eval_accuracy": accuracy, "eval_loss": narrow}, [43, 44], "all", "Verdict: ...")
    assert "| 0.1403–1 (clipped to the metric's range) |" in table  # the cut interval says so where it is shown
    assert "| 0.8252–0.8748 |" in table


@pytest.mark.parametrize("values", [[0.55, 0.62], [0.87, 0.89]])  # far from the notebook, and around it
def test_fewer_than_three_seeds_give_no_verdict_only_that_there_are_too_few(values):
    line = verdict({"eval_accuracy": spread(values, metric_range("eval_accuracy"))}, "distilbert-base-uncased")
    assert line == (
        f"Verdict: too few seeds were run to tell whether the notebook's 0.881 (one run) is reproduced: 2 runs "
        f"({values[0]:.4f}–{values[1]:.4f}), at least 3 needed for an interval worth reading."
    )
    assert "consistent" not in line and "not reproduced" not in line and "\n" not in line


def accuracy_with_interval(low: float, high: float) -> dict:
    """Three runs whose interval of the mean is exactly (low, high)."""
    values = [0.86, 0.87, 0.88]
    return {"values": values, "mean": 0.87, "std": 0.01, "min": 0.86, "max": 0.88, "ci95": [low, high], "ci95_clipped": False}


@pytest.mark.parametrize(
    ("low", "high", "says"),
    [
        (TARGET, 0.95, "inside the 95% interval of their mean 0.8700 (0.8810–0.9500): consistent with this recipe"),
        (np.nextafter(TARGET, 1), 0.95, "outside the 95% interval of their mean 0.8700 (0.8810–0.9500): not reproduced"),
        (0.80, TARGET, "inside the 95% interval of their mean 0.8700 (0.8000–0.8810): consistent with this recipe"),
        (0.80, np.nextafter(TARGET, 0), "outside the 95% interval of their mean 0.8700 (0.8000–0.8810): not reproduced"),
    ],
)
def test_three_seeds_verdict_at_both_edges_of_the_interval(low, high, says):
    line = verdict({"eval_accuracy": accuracy_with_interval(low, high)}, "distilbert-base-uncased")
    assert line.startswith("Verdict: the notebook's 0.881 (one run) lies above all 3 runs (0.8600–0.8800), ")
    assert says in line and line.count("consistent") + line.count("not reproduced") == 1


def test_a_searchs_confirmation_reads_the_notebook_through_the_same_verdict():
    two = {"metrics": {"eval_accuracy": spread([0.55, 0.62], metric_range("eval_accuracy"))}}
    text = search_verdict([], CURVE, {"number": 1, "value": 0.85}, two, None, "tiny")
    assert "over the winner's confirming runs, too few seeds were run to tell whether the notebook's 0.881" in text
    assert "1.0117" not in text and "inside the 95%" not in text
    three = {"metrics": {"eval_accuracy": accuracy_with_interval(TARGET, 0.95)}}
    text = search_verdict([], CURVE, {"number": 1, "value": 0.85}, three, None, "tiny")
    assert "over the winner's confirming runs, the notebook's 0.881 (one run) lies above all 3 runs" in text
    assert "inside the 95% interval of their mean 0.8700 (0.8810–0.9500): consistent with this recipe." in text
