"""A seed study: one run per seed, each complete, summarized with statistics checked against numpy/scipy;
killed, it resumes without redoing finished seeds; a changed recipe or bad seeds are refused in one line."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import stats

from errors import ProjectError
from studies.plan import StudyPlan
from studies.seeds import parse_seeds, plan_study, run_study
from studies.summary import TIMINGS, metric_range, spread, study_figure
from training import parse_args
from training_report import push_run, render_model_card
from training_report.study import study_card

from .conftest import ROOT, fingerprints, outcome, run_finetune, short_run

SEEDS = [42, 43, 44]


def run_flags(tiny_model_dir, sst2_dir, *extra) -> list[str]:
    """Short real runs (5% of train.tsv, 2 epochs): a few seconds a seed."""
    return ["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir), "--sample_fraction", "0.05",
            "--max_length", "32", "--num_train_epochs", "2", "--learning_rate", "1e-3", *extra]  # fmt: skip


def study_args(tiny_model_dir, sst2_dir, output_dir, *extra, seeds=SEEDS) -> list[str]:
    """`run_seeds.py`'s command line for a study of those runs."""
    return ["--seeds", *map(str, seeds), "--output_dir", str(output_dir), *run_flags(tiny_model_dir, sst2_dir, *extra)]


def seed_study(output_dir, flags, seeds=SEEDS, vary="all") -> dict:
    """A study through the library, as `run_seeds.py` runs it."""
    return run_study(plan_study(StudyPlan.checked(parse_args(flags)), seeds, vary, output_dir), output_dir)


def run_seeds_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run_seeds.py"), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_model_dir, sst2_dir):
    output_dir = tmp_path_factory.mktemp("study") / "out"
    seed_study(output_dir, run_flags(tiny_model_dir, sst2_dir))
    return output_dir


def test_each_seed_is_a_complete_run_and_the_summary_matches_an_independent_computation(study):
    summary = json.loads((study / "seeds.json").read_text())
    assert summary["seeds"] == SEEDS and summary["vary"] == "all"
    assert summary["runs"] == {str(s): f"seed-{s}" for s in SEEDS}
    for key in ("eval_accuracy", "eval_loss", "eval_macro_f1", "train_loss", "dev_accuracy", "epoch_1_accuracy", "epoch_2_accuracy"):
        if key.startswith("epoch_"):
            epoch = key.split("_")[1]
            values = []
            for s in SEEDS:
                with open(study / f"seed-{s}" / "epoch_stats.csv") as f:
                    values.append(next(float(r["accuracy"]) for r in csv.DictReader(f) if r["epoch"] == epoch))
        else:
            values = [json.loads((study / f"seed-{s}" / "all_results.json").read_text())[key] for s in SEEDS]
        mean, std = np.mean(values), np.std(values, ddof=1)
        low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values)) if std else (mean, mean)
        low, high = max(low, 0.0), min(high, metric_range(key)[1])  # cut at what the metric can be
        got = summary["metrics"][key]
        assert got["values"] == values and got["min"] == min(values) and got["max"] == max(values)
        assert (got["mean"], got["std"], *got["ci95"]) == pytest.approx((mean, std, low, high), rel=1e-9, abs=1e-12)
    assert len(set(summary["metrics"]["eval_loss"]["values"])) == 3  # the seeds do change the result
    assert summary["verdict"] in (study / "seeds.md").read_text()
    assert summary["verdict"].startswith("Verdict: the notebook's 0.881 (one run) lies ")
    assert "the notebook fine-tuned distilbert-base-uncased, these runs tiny-distilbert" in summary["verdict"]
    assert (study / "seeds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(study / "seeds.csv") as f:
        rows = {r["metric"]: r for r in csv.DictReader(f)}
    assert float(rows["eval_accuracy"]["mean"]) == summary["metrics"]["eval_accuracy"]["mean"]


def test_a_seed_of_a_study_equals_the_same_run_on_its_own(study, tiny_model_dir, sst2_dir, tmp_path):
    alone = tmp_path / "alone"
    result = run_finetune(*short_run(tiny_model_dir, sst2_dir, alone, seed=43, epochs=2), "--split_seed", "43", "--data_seed", "43")
    assert result.returncode == 0, result.stderr[-3000:]
    assert outcome(alone) == outcome(study / "seed-43")


@pytest.mark.slow
def test_a_killed_study_keeps_finished_seeds_and_resumes_the_rest(study, tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "out"
    command = [sys.executable, str(ROOT / "run_seeds.py"), *study_args(tiny_model_dir, sst2_dir, output_dir)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    checkpoint = output_dir / "seed-43" / "checkpoint-8" / "trainer_state.json"
    while process.poll() is None and not checkpoint.exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # Ctrl-C in the second seed
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr
    line = next(line for line in stderr.splitlines() if line.startswith("run_seeds.py: "))  # a progress bar may follow
    assert line.startswith("run_seeds.py: interrupted by SIGINT at step ")
    assert f"in seed 43 ({output_dir}/seed-43); rerun the same command to go on" in line
    assert (output_dir / "seed-42" / "all_results.json").exists() and not (output_dir / "seed-43" / "all_results.json").exists()
    assert not (output_dir / "seeds.json").exists()  # no summary of an unfinished study
    finished = fingerprints(output_dir / "seed-42")

    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Seed 42 ({output_dir}/seed-42): finished, kept as it is" in result.stdout
    assert f"Resuming the unfinished run from {output_dir}/seed-43/checkpoint-" in result.stdout
    assert fingerprints(output_dir / "seed-42") == finished  # not rerun, not touched
    for seed in SEEDS:  # and every seed ends where the uninterrupted study's did
        assert outcome(output_dir / f"seed-{seed}") == outcome(study / f"seed-{seed}")
    summaries = [json.loads((folder / "seeds.json").read_text())["metrics"] for folder in (output_dir, study)]
    assert [{k: v for k, v in s.items() if not k.endswith(TIMINGS)} for s in summaries] == [
        {k: v for k, v in summaries[1].items() if not k.endswith(TIMINGS)}
    ] * 2  # every metric but the wall-clock ones


def test_a_changed_recipe_is_refused_before_anything_runs(study, tiny_model_dir, sst2_dir):
    before = fingerprints(study)
    with pytest.raises(ProjectError) as err:
        seed_study(study, run_flags(tiny_model_dir, sst2_dir, "--learning_rate", "5e-4"))
    assert str(err.value) == (
        f"--output_dir {study}/seed-42 holds a finished run with other settings (learning_rate 0.001 → 0.0005); "
        "pass --overwrite_output_dir to start over (make: ARGS=--overwrite_output_dir), or choose another --output_dir"
    )
    assert fingerprints(study) == before


@pytest.mark.parametrize(
    "seeds, message",
    [
        (["42", "4x"], "--seeds 42 4x: seeds are integers, e.g. --seeds 42 43 44"),
        (["42", "43", "42"], "--seeds 42 43 42: 42 given twice; each seed once"),
        (["42"], "--seeds 42: a study needs at least 2 seeds to measure a spread"),
        (["-1", "-2"], "--seeds -1 -2: seeds are integers from 0 to 4294967295"),
        (["4294967296", "1"], "--seeds 4294967296 1: seeds are integers from 0 to 4294967295"),
    ],
)
def test_bad_seeds_are_refused_in_one_line(seeds, message):
    with pytest.raises(ProjectError) as err:
        parse_seeds(seeds, default=42)
    assert str(err.value) == message


def test_without_seeds_a_study_takes_the_recipes_seed_and_the_four_after_it():
    assert parse_seeds(None, default=42) == [42, 43, 44, 45, 46]


@pytest.mark.slow
def test_bad_study_arguments_end_in_one_line_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    for args, message in [
        (["--seeds", "-1", "-2"], "run_seeds.py: error: --seeds -1 -2: seeds are integers from 0 to 4294967295"),
        (["--seeds"], "run_seeds.py: error: argument --seeds: expected at least one argument"),
        (["--seeds", "1", "2", "--vary", "order", "--data_seed", "3"],
         ("run_seeds.py: error: --data_seed: the study sets it for each run (a seed study varies it; a search over "
         "seeds selects luck, and its confirmation varies them); drop it")),
    ]:  # fmt: skip
        result = run_seeds_cli(*args, "--output_dir", str(out))
        assert result.returncode == 1 and result.stderr.splitlines() == [message]
        assert not out.exists()


@pytest.mark.slow  # three studies of two seeds (5 runs); tests/test_doc_examples.py's variance_md makes one too
def test_vary_each_puts_the_sources_side_by_side_and_trains_the_shared_run_once(tiny_model_dir, sst2_dir, tmp_path):
    output_dir = tmp_path / "each"
    seed_study(output_dir, run_flags(tiny_model_dir, sst2_dir), seeds=[42, 43], vary="each")
    for vary in ("split", "order", "init"):
        assert json.loads((output_dir / vary / "seeds.json").read_text())["vary"] == vary
    # Seed 42 is the recipe's value of all three: one run, linked from the other two sources.
    assert (output_dir / "order" / "seed-42").resolve() == (output_dir / "split" / "seed-42").resolve()
    assert (output_dir / "init" / "seed-42").is_symlink()
    assert outcome(output_dir / "split" / "seed-43") != outcome(output_dir / "order" / "seed-43")
    table = (output_dir / "variance.md").read_text()
    assert [line.split(" | ")[0] for line in table.splitlines()[4:]] == ["| split", "| order", "| init"]


def test_pushing_a_run_of_a_study_shows_the_study_beside_its_own_numbers(study, capsys):
    push_run(study / "seed-43", None, dry_run=True)
    assert "README.md  (with the seed study's mean ± std, from ../seeds.json)" in capsys.readouterr().out
    section = render_model_card(study / "seed-43", study_card(study / "seed-43"))
    summary = json.loads((study / "seeds.json").read_text())["metrics"]["eval_accuracy"]
    own = json.loads((study / "seed-43" / "all_results.json").read_text())["eval_accuracy"]
    assert f"| eval_accuracy | {own:.4f} | {summary['mean']:.4f} ± {summary['std']:.4f} |" in section
    assert "## Seed study" not in (study / "seed-43" / "README.md").read_text()  # the run's own card is unchanged


def test_a_one_epoch_studys_plot_shows_each_run_and_its_legend_hides_no_point():
    summary = {"epoch_1_accuracy": spread([0.80, 0.82, 0.85])}
    figure = study_figure(summary, [42, 43, 44])
    figure.canvas.draw()
    (axes,) = figure.axes
    runs = [line for line in axes.lines if line.get_alpha() == 0.5]
    assert len(runs) == 3 and all(line.get_marker() not in ("", "None") for line in runs)  # a point each, visible
    assert axes.get_legend().get_window_extent().y1 <= axes.get_window_extent().y0  # under the axes
