"""What a search's budget buys: the expected best validation score after n trials (Dodge et al. 2019, "Show Your
Work", arXiv 1909.03004). With the K complete trials' values sorted ascending, v(1) <= ... <= v(K), the best of n
draws (with replacement) from them has the expectation E[max of n] = sum_i v(i) * ((i/K)^n - ((i-1)/K)^n). Its band
is a percentile bootstrap: the K values resampled with replacement BOOTSTRAP_RESAMPLES times, the estimator computed
on each resample, the 2.5th and 97.5th percentiles at each n (a 95% band). It shows how much the curve depends on
which K trials happened to be drawn; it cannot reach above the best value seen, so at n near K it is narrow and leans
low (Tang et al. 2020, Lourie et al. 2023 discuss better bands)."""

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
BAND = (
    f"{CONFIDENCE:.0%} percentile bootstrap over the complete trials' values ({BOOTSTRAP_RESAMPLES} resamples "
    f"with replacement, seed {BOOTSTRAP_SEED})"
)


def expected_best_weights(k: int) -> np.ndarray:
    """W[n-1, i-1] = (i/K)^n - ((i-1)/K)^n: the probability that the best of n draws is the i-th smallest value."""
    n = np.arange(1, k + 1)[:, None]
    i = np.arange(1, k + 1)[None, :]
    return (i / k) ** n - ((i - 1) / k) ** n


def expected_best(values) -> np.ndarray:
    """Dodge et al.'s expected best of n trials, n = 1..K, from the K values (maximized)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    return expected_best_weights(len(values)) @ values


def expected_best_band(
    values, confidence: float = CONFIDENCE, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap band of `expected_best` at each n: (lower, upper)."""
    values = np.asarray(values, dtype=np.float64)
    k = len(values)
    rng = np.random.default_rng(seed)
    samples = np.sort(values[rng.integers(0, k, size=(resamples, k))], axis=1)
    curves = samples @ expected_best_weights(k).T
    tail = 100 * (1 - confidence) / 2
    return np.percentile(curves, tail, axis=0), np.percentile(curves, 100 - tail, axis=0)


def curve_record(values) -> dict:
    lower, upper = expected_best_band(values)
    return {
        "n": list(range(1, len(values) + 1)),
        "mean": expected_best(values).tolist(),
        "lower": lower.tolist(),
        "upper": upper.tolist(),
        "band": BAND,
    }


def budgets(k: int) -> list[int]:
    """The numbers of trials the verdict and the table quote: 1, 5 and K, and a few between for the table."""
    return sorted({n for n in (1, 2, 3, 5, 10, 20, 50, 100) if n < k} | {k})
