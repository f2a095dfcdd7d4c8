"""A hyperparameter search (`run_search.py`, studies.search): the expected-best curve against a brute-force and a Monte
Carlo computation; real searches of the tiny model whose trials score validation only (no dev_* / test_* anywhere in a
trial) and whose report, confirmation and curve match the trials' own files; resume, extension and refusals of another
space, recipe or data; bad spaces refused in one line with nothing written; two workers sharing one study; a worker
killed mid-trial, its trial failed and its retry resuming the run from its checkpoint."""

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import optuna
import pytest
from transformers import HfArgumentParser

from errors import ProjectError
from studies.plan import check_owned_flags
from studies.search import OWNED, SearchArguments, masked, plan_search, run_search
from studies.search.curve import expected_best, expected_best_band
from studies.search.verdict import verdict
from studies.search.workers import fail_dead_trials
from studies.space import read_space
from training import parse_args

from .conftest import ROOT, free_port, outcome, train_run

SPACE = (
    "learning_rate: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}\n"
    "per_device_train_batch_size: {type: categorical, choices: [16, 32]}\n"
)
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


def test_a_password_never_leaves_the_url():
    assert masked("postgresql://sst2:s3cr%40t@db.example:5432/search") == "postgresql://sst2:***@db.example:5432/search"
    assert masked("postgresql://sst2@db:5432/search") == "postgresql://sst2@db:5432/search"
    assert masked("sqlite:///search.db") == "sqlite:///search.db"


def test_a_queued_retry_is_not_judged_by_the_worker_of_the_trial_it_retries(tmp_path):
    """Why the search queues retries itself (studies/search/workers.py, `retry`): a trial whose worker died is failed
    and its configuration queued again; the retry, asked by a live worker that has not named itself yet, keeps running
    (Optuna's RetryHeartbeatStaleTrialCallback copies the failed trial's user attributes, the dead worker with them,
    and the next liveness check would fail the retry too) and names the trial it retries and its attempt."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.journal")))
    study = optuna.create_study(storage=storage)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    first = study.ask()
    first.suggest_float("learning_rate", 1e-4, 3e-3, log=True)
    first.set_user_attr("worker", {"host": socket.gethostname(), "pid": int(ended.stdout), "started": "0"})
    first.set_user_attr("run", "trial-0")
    fail_dead_trials(study, storage)
    retried = study.ask()
    fail_dead_trials(study, storage)
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {first.number: optuna.trial.TrialState.FAIL, retried.number: optuna.trial.TrialState.RUNNING}
    assert retried.user_attrs == {"retry_of": first.number, "attempt": 2}
    assert retried.suggest_float("learning_rate", 1e-4, 3e-3, log=True) == first.params["learning_rate"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, sst2_dir):
    """The real train.tsv and dev.tsv, and dev.tsv again as a labelled test.tsv: every split a trial must not score."""
    folder = tmp_path_factory.mktemp("data")
    shutil.copy(sst2_dir / "train.tsv", folder)
    shutil.copy(sst2_dir / "dev.tsv", folder)
    shutil.copy(sst2_dir / "dev.tsv", folder / "test.tsv")
    return folder


def run_flags(model_dir, data_dir, *extra, epochs=1, save="no") -> list[str]:
    """Tiny trials: 5% of train.tsv (242 train / 104 validation rows), reviews cut to 32 tokens."""
    return [
        "--model_name_or_path",
        str(model_dir),
        "--data_dir",
        str(data_dir),
        "--sample_fraction",
        "0.05",
        "--max_length",
        "32",
        "--num_train_epochs",
        str(epochs),
        "--save_strategy",
        save,
        *extra,
    ]


def search_argv(output_dir, space_file, flags, trials=3, seeds=("7", "8"), *extra) -> list[str]:
    return [
        "--trials",
        str(trials),
        "--space",
        str(space_file),
        "--output_dir",
        str(output_dir),
        "--seeds",
        *seeds,
        *extra,
        *flags,
    ]


def planned(argv):
    """`run_search.py ARGV` up to the point where the search starts: every check, nothing written."""
    search_args, rest = HfArgumentParser(SearchArguments).parse_args_into_dataclasses(
        argv, return_remaining_strings=True
    )
    check_owned_flags(rest, OWNED)
    return plan_search(search_args, parse_args(rest), rest)


def search(argv):
    """A search through the library, as `run_search.py ARGV` runs it."""
    return run_search(planned(argv))


def run_search_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_search.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        **kwargs,
    )


@pytest.fixture(scope="module")
def space_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text(SPACE)
    return path


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


BAD_SPACES = {
    "learning_rat: {type: float, low: 1.0e-5, high: 1.0e-4}": "learning_rat: not a flag of run_finetune.py --help",
    "learning_rate: {type: uniform, low: 1.0e-5, high: 1.0e-4}": "learning_rate: type 'uniform': unknown",
    "learning_rate: {type: float, low: 1.0e-3, high: 1.0e-4}": "learning_rate: low 0.001 > high 0.0001: an empty range",
    "learning_rate: {type: float, low: 0.0, high: 1.0e-4, log: true}": "learning_rate: log: true needs low > 0",
    "learning_rate: {type: float, low: 0.0, high: 1.0e-4}": "learning_rate: 0.0 is refused: --learning_rate 0.0: must be > 0",
    "weight_decay: {type: float, low: -0.1, high: 0.1}": "weight_decay: -0.1 is refused: --weight_decay -0.1: must be >= 0",
    "learning_rate: {type: float, low: 1e-5, high: 1.0e-4}": "learning_rate: low '1e-5': not a number (YAML reads 1e-5 as text",
    "learning_rate: {type: float, low: 1.0e-5}": "learning_rate: high: missing",
    "learning_rate: {type: float, low: 1.0e-5, hgh: 1.0e-4}": "learning_rate: unknown key 'hgh' for type float",
    "learning_rate: {type: float, low: 1.0e-5, high: [": "not valid YAML",
    "- learning_rate": "not a YAML mapping of flags to distributions",
    "": "not a YAML mapping of flags to distributions",
    "learning_rate: 2.0e-5": "learning_rate: not a distribution",
    "per_device_train_batch_size: {type: float, low: 8, high: 64}": "per_device_train_batch_size: type float: the setting takes int values",
    "per_device_train_batch_size: {type: int, low: 0, high: 64}": "per_device_train_batch_size: 0 is refused: --per_device_train_batch_size 0: must be an integer >= 1",
    "per_device_train_batch_size: {type: categorical, choices: [16, '32']}": "per_device_train_batch_size: choice '32': the setting takes int values",
    "per_device_train_batch_size: {type: categorical, choices: [16, 16]}": "a choice is given twice",
    "per_device_train_batch_size: {type: categorical, choices: []}": "choices: give a non-empty list",
    "num_train_epochs: {type: int, low: 1.5, high: 3}": "num_train_epochs: low 1.5: type int takes integers",
    "warmup_steps: {type: float, low: 0.0, high: 2.0}": "warmup_steps: low 0.0 and high 2.0 mix a ratio",
    "lr_scheduler_type: {type: categorical, choices: [linear, sideways]}": "lr_scheduler_type: 'sideways' is refused: sideways is not a valid SchedulerType",
    "padding: {type: categorical, choices: [longest, shortest]}": "padding: 'shortest': not one of longest, max_length",
    "lr_scheduler_kwargs: {type: categorical, choices: [a]}": "lr_scheduler_kwargs: takes a mapping or a list",
    "output_dir: {type: categorical, choices: [a, b]}": "output_dir: cannot be searched: the study gives each run its own folder",
    "seed: {type: int, low: 1, high: 9}": "seed: cannot be searched: the study sets it for each run (a seed study varies it; a search over seeds selects luck",
    "validation_fraction: {type: float, low: 0.2, high: 0.4}": "validation_fraction: cannot be searched: it changes the validation rows",
    "logging_steps: {type: int, low: 1, high: 9}": "logging_steps: does not change a run's result",
}


@pytest.mark.parametrize("text", BAD_SPACES)
def test_a_bad_space_is_refused_in_one_line_before_anything_is_written(text, tiny_model_dir, sst2_dir, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(text + "\n")
    with pytest.raises(ProjectError) as refused:
        planned(search_argv(tmp_path / "out", space, run_flags(tiny_model_dir, sst2_dir)))
    message = str(refused.value)
    assert message.startswith(f"--space {space}: ") and "\n" not in message
    assert BAD_SPACES[text] in message, message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--learning_rate", "3e-5"], "--learning_rate: the search space"),
        (["--overwrite_output_dir"], "--overwrite_output_dir: the study resumes or keeps each run's folder itself"),
        (["--push_to_hub"], "--push_to_hub: a study's runs are not published"),
        (["--trials", "0"], "--trials 0: at least 1"),
        (["--seeds", "5"], "--seeds 5: a study needs at least 2 seeds"),
        (["--baseline", "missing/seeds.json"], "--baseline missing/seeds.json: cannot read it"),
        (["--storage", "search.db"], "--storage search.db: not a database URL"),
        (["--model_name_or_path", "missing/model/folder"], "--model_name_or_path missing/model/folder: folder not found"),
    ],
)
def test_bad_search_arguments_are_refused_in_one_line_before_anything_is_written(
    extra, message, space_file, tiny_model_dir, sst2_dir, tmp_path
):
    argv = search_argv(tmp_path / "out", space_file, run_flags(tiny_model_dir, sst2_dir)) + extra
    with pytest.raises(ProjectError) as refused:
        search(argv)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value), str(refused.value)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_database_is_one_line_without_its_password(space_file, tiny_model_dir, sst2_dir, tmp_path):
    url = f"postgresql://sst2:s3cret@127.0.0.1:{free_port()}/search"
    with pytest.raises(ProjectError) as refused:
        search(
            search_argv(
                tmp_path / "out", space_file, run_flags(tiny_model_dir, sst2_dir), 3, ("none",), "--storage", url
            )
        )
    message = str(refused.value)
    assert message.startswith(f"--storage postgresql://sst2:***@127.0.0.1:{url.split(':')[3]}: cannot open it (")
    assert "s3cret" not in message and "\n" not in message and "check that the server runs" in message
    assert not (tmp_path / "out").exists()


def test_the_notebook_space_is_valid_and_the_default_confirmation_seeds_follow_the_recipes(
    tiny_model_dir, sst2_dir, tmp_path
):
    flags = ["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir)]
    plan = planned(["--output_dir", str(tmp_path / "out"), *flags])
    assert list(plan.space) == [
        "learning_rate",
        "num_train_epochs",
        "per_device_train_batch_size",
        "warmup_steps",
        "weight_decay",
    ]
    assert plan.seeds == [43, 44, 45, 46, 47] and plan.trials == 20 and plan.sampler_name == "random (seed 42)"
    assert plan.study_name == "out" and not (tmp_path / "out").exists()
    assert read_space(ROOT / "recipes/search/notebook.yaml", parse_args(flags))["warmup_steps"].high < 1


@pytest.mark.slow
def test_the_command_line_refuses_in_one_line_and_writes_nothing(space_file, tiny_model_dir, sst2_dir, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {type: float, low: 0.0, high: 1.0e-4}\n")
    result = run_search_cli(*search_argv(tmp_path / "out", space, run_flags(tiny_model_dir, sst2_dir)))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"run_search.py: error: --space {space}: learning_rate: 0.0 is refused: --learning_rate 0.0: must be > 0"
    )
    assert not (tmp_path / "out").exists()
    assert run_search_cli("--help").returncode == 0


@pytest.mark.slow
def test_two_workers_share_one_study_and_complete_exactly_the_trials(space_file, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    argv = search_argv(output_dir, space_file, run_flags(tiny_model_dir, sst2_dir), 5, ("none",))
    command = [sys.executable, str(ROOT / "run_search.py"), *argv]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err[-3000:] for _, err in outputs]
    study = optuna.load_study(
        study_name="out",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(output_dir / "search.journal"))
        ),
    )
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 5
    assert {t.user_attrs["worker"]["pid"] for t in complete} == {w.pid for w in workers}  # both worked
    folders = sorted(p.name for p in output_dir.glob("trial-*"))
    assert folders == sorted(f"trial-{t.number}" for t in complete)  # each trial once, in its own folder
    for t in complete:
        assert (
            json.loads((output_dir / f"trial-{t.number}" / "all_results.json").read_text())["eval_accuracy"] == t.value
        )
    reported = [out for out, _ in outputs if "# Hyperparameter search `out`: 5 complete trials" in out]
    assert len(reported) == 1  # one report, by the worker of the last trial; the other says so
    assert sum("the report is written into" in out for out, _ in outputs) == 1
    record = json.loads((output_dir / "search.json").read_text())
    assert sorted(t["number"] for t in record["trials"] if t["state"] == "COMPLETE") == sorted(
        t.number for t in complete
    )


@pytest.mark.slow
def test_a_killed_workers_trial_fails_and_its_retry_resumes_the_run(space_file, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    flags = run_flags(tiny_model_dir, sst2_dir, "--learning_rate", "1e-3", epochs=2, save="epoch")
    space = tmp_path / "space.yaml"
    space.write_text(
        "per_device_train_batch_size: {type: categorical, choices: [32]}\nweight_decay: {type: float, low: 0.0, high: 0.1}\n"
    )
    argv = search_argv(output_dir, space, flags, 2, ("none",))
    command = [sys.executable, str(ROOT / "run_search.py"), *argv]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = output_dir / "trial-0" / "checkpoint-8" / "trainer_state.json"
    deadline = time.time() + 300
    while not checkpoint.exists():
        assert worker.poll() is None and time.time() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert not (output_dir / "trial-0" / "all_results.json").exists()

    result = run_search_cli(*argv)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Trial 0: its worker (" in result.stdout and f"process {worker.pid}) is gone; marked failed" in result.stdout
    assert f"Resuming the unfinished run from {output_dir}/trial-1/checkpoint-8" in result.stdout
    record = json.loads((output_dir / "search.json").read_text())
    states = [(t["number"], t["state"], t["run"]) for t in record["trials"]]
    assert states == [(0, "FAIL", None), (1, "COMPLETE", "trial-1"), (2, "COMPLETE", "trial-2")]
    assert record["trials"][0]["params"] == record["trials"][1]["params"]
    assert "retried as trial 1" in record["trials"][0]["note"] and record["trials"][1]["note"] == "retry of trial 0"
    assert len(record["expected_best"]["n"]) == 2  # the failed trial does not count
    assert not (output_dir / "trial-0").exists()
    # the resumed run ends as the same run uninterrupted
    params = record["trials"][1]["params"]
    alone = tmp_path / "alone"
    train_run(flags + ["--output_dir", str(alone), "--weight_decay", str(params["weight_decay"])])
    assert outcome(output_dir / "trial-1")[1] == outcome(alone)[1]
    resumed, uninterrupted = outcome(output_dir / "trial-1")[0], outcome(alone)[0]
    assert {k: v for k, v in resumed.items() if not k.startswith(("dev_", "test_"))} == {
        k: v for k, v in uninterrupted.items() if not k.startswith(("dev_", "test_"))
    }
