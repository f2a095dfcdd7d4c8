"""The benchmark's rounds: contenders interleaved and repeated, each ratio to the loop taken within a round and
reported as the median over the rounds with its range (the mechanics; timings themselves are never tested)."""

import pytest

from benchmarks.bench import ratios_to_loop, schedule, shown_ratio


def test_every_round_runs_every_contender_once_in_a_rotated_order():
    order = schedule(["loop", "fast", "fastest"], [42], 3)
    assert order == [(1, 42, "loop"), (1, 42, "fast"), (1, 42, "fastest"),
                     (2, 42, "fast"), (2, 42, "fastest"), (2, 42, "loop"),
                     (3, 42, "fastest"), (3, 42, "loop"), (3, 42, "fast")]  # fmt: skip
    positions = {name: [i % 3 for i, (_, _, n) in enumerate(order) if n == name] for name in ("loop", "fast", "fastest")}
    assert all(sorted(p) == [0, 1, 2] for p in positions.values())  # each contender first, second and last once
    two_seeds = schedule(["loop", "fast"], [42, 43], 2)
    assert [(r, s) for r, s, _ in two_seeds[::2]] == [(1, 42), (1, 43), (2, 42), (2, 43)]
    assert [n for _, _, n in two_seeds] == ["loop", "fast", "fast", "loop", "loop", "fast", "fast", "loop"]


def run(contender: str, round_: int, seconds: float, seed: int = 42) -> dict:
    return {"contender": contender, "round": round_, "seed": seed, "wall": 10 * seconds,
            "epochs": [{"training_time": seconds}]}  # fmt: skip


def test_a_ratio_is_taken_within_each_round_and_reported_as_the_median_with_its_range():
    # The machine slows down from round to round: within a round the contender takes 0.30, 0.32 and 0.28 of the loop.
    runs = [run("loop", 1, 40.0), run("fast", 1, 12.0), run("fast", 2, 16.0), run("loop", 2, 50.0),
            run("loop", 3, 50.0), run("fast", 3, 14.0)]  # fmt: skip
    ratio = ratios_to_loop(runs, "fast", lambda r: r["epochs"][0]["training_time"])
    assert ratio == pytest.approx({"median": 0.30, "min": 0.28, "max": 0.32, "n": 3})
    assert shown_ratio(ratio) == "0.30× (0.28–0.32, 3 rounds)"
    # the mean of the times would say 14.0 / 46.7 = 0.30 too, but a round whose loop failed must not count
    assert ratios_to_loop([r for r in runs if (r["contender"], r["round"]) != ("loop", 3)], "fast",
                          lambda r: r["wall"]) == pytest.approx({"median": 0.31, "min": 0.30, "max": 0.32, "n": 2})  # fmt: skip
    assert ratios_to_loop([r for r in runs if r["contender"] != "loop"], "fast", lambda r: r["wall"]) is None
    assert shown_ratio(None) == "—" and shown_ratio({"median": 0.3, "min": 0.3, "max": 0.3, "n": 1}) == "0.30× (1 round)"
