"""A search's report (studies/search/curve.py, verdict.py): the expected best after n trials against a brute-force
and a Monte Carlo computation, its bootstrap band, and the verdict's words on the winner's curse."""

import itertools

import numpy as np
import pytest

from studies.search.curve import expected_best, expected_best_band
from studies.search.verdict import verdict


def brute_force_expected_best(values, n: int) -> float:
    """The mean of the best of every ordered n-tuple drawn, with replacement, from `values`: the exact expectation."""
    return float(np.mean([max(draw) for draw in itertools.product(values, repeat=n)]))


@pytest.mark.parametrize("values", [[0.7], [0.5, 0.9], [0.8, 0.8, 0.6], [0.61, 0.83, 0.72, 0.83, 0.55, 0.9]])
def test_the_expected_best_equals_the_best_of_every_possible_draw(values):
    curve = expected_best(values)
    assert len(curve) == len(values)
    for n in range(1, len(values) + 1):
        assert curve[n - 1] == pytest.approx(brute_force_expected_best(values, n), abs=1e-12)
    assert curve[0] == pytest.approx(np.mean(values)) and np.all(np.diff(curve) >= -1e-12) and curve[-1] <= max(values)


def test_the_expected_best_and_its_band_against_monte_carlo():
    rng = np.random.default_rng(1)
    values = rng.normal(0.84, 0.02, size=20)
    curve = expected_best(values)
    draws = values[rng.integers(0, 20, size=(200_000, 20))]
    for n in (1, 2, 5, 10, 20):
        best = draws[:, :n].max(axis=1)
        assert abs(curve[n - 1] - best.mean()) < 4 * best.std() / np.sqrt(len(best))
    lower, upper = expected_best_band(values)
    assert np.all(lower <= curve + 1e-12) and np.all(curve <= upper + 1e-12) and np.all(upper - lower > 0)
    # the band is the percentile bootstrap it says it is: recomputed from its own resamples, one at a time
    resampled = values[np.random.default_rng(0).integers(0, 20, size=(10_000, 20))]
    at_five = [expected_best(row)[4] for row in resampled]
    assert (lower[4], upper[4]) == pytest.approx(tuple(np.percentile(at_five, [2.5, 97.5])), abs=1e-12)
    flat = expected_best_band([0.8] * 4)
    assert np.allclose(flat, 0.8)


@pytest.mark.parametrize(
    ("confirmed", "says"),
    [
        (0.80, "overstates its configuration by 0.0500 (the winner's curse"),
        (0.88, "understates its configuration by 0.0300 (no winner's curse"),
    ],
)
def test_the_verdict_names_the_direction_of_the_trial_scores_error(confirmed, says):
    curve = {"n": [1, 2], "mean": [0.84, 0.85], "lower": [0.83, 0.84], "upper": [0.85, 0.85]}
    values = [confirmed - 0.01, confirmed, confirmed + 0.01]
    accuracy = {"mean": confirmed, "std": 0.01, "values": values, "min": values[0], "max": values[-1], "ci95": [0.7, 0.9]}
    text = verdict([], curve, {"number": 1, "value": 0.85}, {"metrics": {"eval_accuracy": accuracy}}, None, "tiny")
    assert says in text and text.count("its configuration by") == 1
