"""A hyperparameter search (`run_search.py`, studies.search) of the tiny model, for real: trials that score
validation only (no dev_* / test_* anywhere in a trial), a report, confirmation and curve that match the trials' own
files; the same command resuming, a larger budget extending it, and another space, recipe or data refused."""

import json
import shutil

import numpy as np
import optuna
import pytest

from errors import ProjectError

from .conftest import SPACE, run_flags, search, search_argv
from .test_search_report import brute_force_expected_best

REPORT = {
    "study",
    "metric",
    "direction",
    "sampler",
    "space",
    "trials",
    "best",
    "expected_best",
    "confirmation",
    "verdict",
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory, tiny_model_dir, data_dir, space_file):
    """A real search: 3 trials of the tiny model, the winner confirmed over seeds 7 and 8."""
    output_dir = tmp_path_factory.mktemp("search") / "out"
    record = search(search_argv(output_dir, space_file, run_flags(tiny_model_dir, data_dir)))
    return output_dir, record


def test_trials_score_the_validation_split_only(searched):
    output_dir, record = searched
    for trial in record["trials"]:
        folder = output_dir / trial["run"]
        results = json.loads((folder / "all_results.json").read_text())
        assert results["eval_accuracy"] == trial["value"] and results["eval_samples"] == 104
        assert not [key for key in results if key.startswith(("dev_", "test_"))], folder
        assert not [p.name for p in folder.iterdir() if p.name.startswith(("dev_", "test_"))], folder
        assert "dev (official)" not in (folder / "evaluation.md").read_text()
        assert "test (official)" not in (folder / "evaluation.md").read_text()
    confirmed = json.loads((output_dir / "confirmation" / "seed-7" / "all_results.json").read_text())
    assert {"eval_accuracy", "dev_accuracy", "test_accuracy"} <= set(confirmed)  # the confirmation scores all three


def test_the_report_matches_the_trials_and_an_independent_computation(searched, space_file):
    output_dir, record = searched
    on_disk = json.loads((output_dir / "search.json").read_text())
    assert on_disk == record and REPORT <= set(record)
    assert (record["study"], record["metric"], record["direction"]) == ("out", "eval_accuracy", "maximize")
    assert record["sampler"] == "random (seed 42)"
    assert list(record["space"]) == ["learning_rate", "per_device_train_batch_size"]
    trials = record["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2] and {t["state"] for t in trials} == {"COMPLETE"}
    assert [t["run"] for t in trials] == ["trial-0", "trial-1", "trial-2"]
    for t in trials:
        assert 1e-4 <= t["params"]["learning_rate"] <= 3e-3 and t["params"]["per_device_train_batch_size"] in (16, 32)
        settings = json.loads((output_dir / t["run"] / "run_settings.json").read_text())
        assert settings["learning_rate"] == t["params"]["learning_rate"]
        assert settings["per_device_train_batch_size"] == t["params"]["per_device_train_batch_size"]
    assert len({t["params"]["learning_rate"] for t in trials}) == 3
    # each trial's draw depends on the seed and its number alone: an independent seeded RandomSampler gives it
    for t in trials:
        seed = int(np.random.SeedSequence([42, t["number"]]).generate_state(1)[0])
        draw = optuna.samplers.RandomSampler(seed=seed)
        study = optuna.create_study(sampler=draw)
        again = study.ask()
        assert again.suggest_float("learning_rate", 1e-4, 3e-3, log=True) == t["params"]["learning_rate"]
    values = [t["value"] for t in trials]
    best = max(trials, key=lambda t: (t["value"], -t["number"]))
    assert record["best"] == {"number": best["number"], "params": best["params"], "value": best["value"]}
    curve = record["expected_best"]
    assert curve["n"] == [1, 2, 3]
    assert curve["mean"] == pytest.approx([brute_force_expected_best(values, n) for n in (1, 2, 3)], abs=1e-12)
    assert all(lo <= m + 1e-12 and m <= hi + 1e-12 for lo, m, hi in zip(curve["lower"], curve["mean"], curve["upper"]))
    seeds = json.loads((output_dir / "confirmation" / "seeds.json").read_text())
    assert record["confirmation"] == seeds and seeds["seeds"] == [7, 8]
    for seed in (7, 8):
        settings = json.loads((output_dir / "confirmation" / f"seed-{seed}" / "run_settings.json").read_text())
        assert settings["learning_rate"] == best["params"]["learning_rate"]
        assert (settings["seed"], settings["data_seed"], settings["split_seed"]) == (seed, seed, seed)
    verdict = record["verdict"]
    confirmed = seeds["metrics"]["eval_accuracy"]
    assert f"after 1 trial: {curve['mean'][0]:.4f}" in verdict and f"after 3 trials: {curve['mean'][2]:.4f}" in verdict
    assert f"{confirmed['mean']:.4f} ± {confirmed['std']:.4f} on validation" in verdict
    curse = best["value"] - confirmed["mean"]
    word = "overstates" if curse >= 0 else "understates"
    assert f"score {word} its configuration by {abs(curse):.4f}" in verdict
    assert "the notebook's 0.881" in verdict
    markdown = (output_dir / "search.md").read_text()
    assert verdict in markdown and "dev and test were never scored during the search" in markdown
    rows = (output_dir / "trials.csv").read_text().splitlines()
    assert rows[0] == "number,state,value,run,note,learning_rate,per_device_train_batch_size" and len(rows) == 4
    for name in ("expected_best.png", "importances.png", "slice.png"):
        assert (output_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_the_same_command_keeps_the_search_and_another_space_recipe_or_data_is_refused(
    searched, space_file, tiny_model_dir, data_dir, sst2_dir, tmp_path
):
    output_dir, record = searched
    before = {p: p.stat().st_mtime_ns for p in output_dir.rglob("*") if p.is_file()}
    assert search(search_argv(output_dir, space_file, run_flags(tiny_model_dir, data_dir))) == record
    assert {
        p: p.stat().st_mtime_ns for p in output_dir.rglob("*") if p.is_file()
    } == before  # nothing trained or rewritten

    other_space = tmp_path / "other.yaml"
    other_space.write_text(SPACE.replace("3.0e-3", "1.0e-2"))
    refusals = {
        "space learning_rate": search_argv(output_dir, other_space, run_flags(tiny_model_dir, data_dir)),
        "weight_decay 0.0 → 0.01": search_argv(
            output_dir, space_file, run_flags(tiny_model_dir, data_dir, "--weight_decay", "0.01")
        ),
        "data_sha256": search_argv(output_dir, space_file, run_flags(tiny_model_dir, sst2_dir)),
        "sampler random → tpe": search_argv(
            output_dir, space_file, run_flags(tiny_model_dir, data_dir), 3, ("7", "8"), "--sampler", "tpe"
        ),
    }
    for difference, argv in refusals.items():
        with pytest.raises(ProjectError) as refused:
            search(argv)
        message = str(refused.value)
        assert (
            message.startswith(f"study 'out' in {output_dir}/search.journal is a search of another space")
            and "\n" not in message
        )
        assert difference in message, message
    assert {p: p.stat().st_mtime_ns for p in output_dir.rglob("*") if p.is_file()} == before


def test_a_larger_budget_extends_the_search(searched, space_file, tiny_model_dir, data_dir):
    output_dir, _ = searched
    extended = output_dir.parent / "extended"
    shutil.copytree(output_dir, extended)
    record = search(
        search_argv(extended, space_file, run_flags(tiny_model_dir, data_dir), 4, ("none",), "--study_name", "out")
    )
    assert [t["number"] for t in record["trials"]] == [0, 1, 2, 3] and record["confirmation"] is None
    assert len(record["expected_best"]["mean"]) == 4 and "not confirmed: SEEDS=none" in record["verdict"]
