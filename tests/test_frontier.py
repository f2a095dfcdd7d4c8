"""`make frontier` on tiny real runs of SST-2: a teacher run, a plain student's seed study and a student distilled
from the teacher (run_distill.py's training), timed under PyTorch, ONNX fp32 and int8: the result fits the schema, accuracies come from the runs'
own results (mean, std, n over a study's seeds), recovery is against the teacher the student names, a bad entry of
RUNS is one line before anything is exported, and the table is generated from the result."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import frontier, results, tables
from run_folder import DISTILLATION_FILE
from studies.plan import StudyPlan
from studies.seeds import plan_study, run_study
from training import DistillationArguments, parse_args, train

from .conftest import ROOT, train_run

SEEDS = [42, 43]
DATA = "sst2, sample_fraction 0.05, validation_fraction 0.3, validation_split sample"  # not the notebook's split


def short_flags(tiny_model_dir, sst2_dir, *extra) -> list[str]:
    """A few seconds on the tiny model: 5% of train.tsv (242 train / 104 validation rows), one epoch."""
    return ["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir), "--sample_fraction", "0.05",
            "--max_length", "32", "--num_train_epochs", "1", "--learning_rate", "1e-3", "--save_strategy", "no",
            "--disable_tqdm", "true", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir, sst2_dir):
    folder = tmp_path_factory.mktemp("frontier")
    train_run([*short_flags(tiny_model_dir, sst2_dir, "--seed", "7"), "--output_dir", folder / "teacher"])
    flags = short_flags(tiny_model_dir, sst2_dir)
    run_study(plan_study(StudyPlan.checked(parse_args(flags)), SEEDS, "all", folder / "plain"), folder / "plain")
    student = [*short_flags(tiny_model_dir, sst2_dir, "--seed", "9"), "--config", ROOT / "recipes" / "distill.yaml",
               "--teacher", folder / "teacher", "--transfer", "none", "--output_dir", folder / "student"]  # fmt: skip
    train(parse_args(list(map(str, student)), training_class=DistillationArguments))  # as run_distill.py does
    return folder


def frontier_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.frontier", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})  # fmt: skip


def scores(run) -> dict:
    return json.loads((run / "all_results.json").read_text())


@pytest.fixture(scope="module")
def measured(runs, sst2_dir, tmp_path_factory):
    """The three measured as a user runs it, on 16 dev reviews (the runs are exported first)."""
    reviews = tmp_path_factory.mktemp("reviews") / "dev-16.tsv"
    reviews.write_text("".join((sst2_dir / "dev.tsv").read_text().splitlines(keepends=True)[:17]))
    path = runs / "out" / "frontier.json"
    done = frontier_cli("--runs", runs / "teacher", runs / "plain", runs / "student", "--file", reviews, "--rounds", "1",
                        "--json", path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(path.read_text())
    return done, result | {"file": f"{result['date']}-1-cpu-frontier.json"}


def test_the_result_fits_the_schema_and_holds_each_runs_own_accuracy(runs, measured, tiny_model_dir):
    done, result = measured
    assert results.problems(result) == []
    assert results.problems({"kind": "frontier", "candidates": [{"validation_accuracy": {}, "backends": [{}]}]})[-7:] == [
        "candidates[0].dev_accuracy: no 'n'", *(f"candidates[0].backends[0]: no {field!r}" for field in results.FRONTIER_BACKEND)]  # fmt: skip
    assert [c["name"] for c in result["candidates"]] == ["teacher", "plain", "student"]
    for candidate in result["candidates"]:
        assert candidate["data"] == DATA and candidate["model"] == tiny_model_dir.name
        assert [b["backend"] for b in candidate["backends"]] == ["torch", "onnx", "onnx-int8"]
        assert all(0 < b["p50_ms"] <= b["p95_ms"] and b["throughput_per_s"] > 0 for b in candidate["backends"])
    teacher, _, student = result["candidates"]
    assert teacher["validation_accuracy"] == {"mean": scores(runs / "teacher")["eval_accuracy"], "std": None, "n": 1}
    assert student["dev_accuracy"] == {"mean": scores(runs / "student")["dev_accuracy"], "std": None, "n": 1}
    assert teacher["parameters"] == sum(p.numel() for p in torch_model(runs / "teacher").parameters())
    assert teacher["size_bytes"] == (runs / "teacher" / "model.safetensors").stat().st_size
    sizes = [b["size_bytes"] for b in teacher["backends"]]
    assert sizes[2] < sizes[1] and sizes[1] == (runs / "teacher" / "onnx" / "model.onnx").stat().st_size
    assert result["matmul_gflops"] > 0 and f"fp32 matmul rate measured in this run: {result['matmul_gflops']} GFLOP/s" in done.stdout
    assert result["reviews"] == 16 and result["rounds"] == 1 and result["max_length"] == 80
    assert (runs / "out" / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def torch_model(run):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(run)


def test_a_seed_study_gives_mean_std_and_n_over_its_seeds(runs, measured):
    plain = measured[1]["candidates"][1]
    for key, metric in (("validation_accuracy", "eval_accuracy"), ("dev_accuracy", "dev_accuracy")):
        values = [scores(runs / "plain" / f"seed-{seed}")[metric] for seed in SEEDS]
        assert plain[key]["n"] == 2 and (values[0] != values[1] or key == "dev_accuracy")  # each seed its own split
        assert (plain[key]["mean"], plain[key]["std"]) == pytest.approx((np.mean(values), np.std(values, ddof=1)))


def test_recovery_is_against_the_teacher_the_student_names(runs, measured):
    teacher, plain, student = measured[1]["candidates"]
    ours = scores(runs / "teacher")
    assert student["teacher"] == "teacher" and teacher["teacher"] is None and plain["teacher"] is None
    assert student["recovery"] == pytest.approx({"validation": scores(runs / "student")["eval_accuracy"] / ours["eval_accuracy"],
                                                 "dev": scores(runs / "student")["dev_accuracy"] / ours["dev_accuracy"],
                                                 "against": "teacher"})  # fmt: skip
    # a candidate without a teacher is set against the frontier's, on the same data
    assert plain["recovery"]["against"] == "teacher"
    assert plain["recovery"]["validation"] == pytest.approx(plain["validation_accuracy"]["mean"] / ours["eval_accuracy"])
    assert teacher["recovery"] == {"validation": 1.0, "dev": 1.0, "against": "teacher"}


def test_a_student_whose_teacher_is_not_measured_is_set_against_the_accuracies_it_recorded(runs, tmp_path):
    """Its teacher's model is among no candidate's runs: distillation.json's teacher and scores count."""
    shutil.copytree(runs / "student", tmp_path / "student", ignore=shutil.ignore_patterns("onnx"))
    recorded = json.loads((tmp_path / "student" / DISTILLATION_FILE).read_text())
    recorded["teacher"] |= {"run": "mpnet", "eval_accuracy": 0.9, "dev_accuracy": 0.8}
    (tmp_path / "student" / DISTILLATION_FILE).write_text(json.dumps(recorded))
    (entry,) = frontier.entries(frontier.read_candidates([tmp_path / "student", runs / "plain"])[:1], [])
    mine = scores(runs / "student")
    assert entry["teacher"] == "mpnet"
    assert entry["recovery"] == pytest.approx({"validation": mine["eval_accuracy"] / 0.9, "dev": mine["dev_accuracy"] / 0.8,
                                               "against": "mpnet"})  # fmt: skip


def test_a_missing_or_unfinished_entry_is_one_line_before_anything_is_exported(runs, tmp_path):
    shutil.copytree(runs / "teacher", tmp_path / "teacher", ignore=shutil.ignore_patterns("onnx"))
    (tmp_path / "unfinished").mkdir()
    shutil.copy(runs / "teacher" / "model.safetensors", tmp_path / "unfinished")
    shutil.copy(runs / "teacher" / "config.json", tmp_path / "unfinished")
    shutil.copytree(runs / "plain" / "seed-42", tmp_path / "study" / "seed-42")  # no seeds.json: not summarized
    cases = {
        tmp_path / "nope": "run folder not found; pass the --output_dir of a finished run_finetune.py run",
        tmp_path / "unfinished": "the run is unfinished (no all_results.json); rerun its training command to finish it "
        "(it resumes from its last checkpoint), then measure it",
        tmp_path / "study": "a seed study without its summary (seeds.json), unfinished; rerun its make seeds command to "
        "finish it, then measure it",
    }  # fmt: skip
    for folder, message in cases.items():
        done = frontier_cli("--runs", tmp_path / "teacher", folder)
        assert done.returncode == 1 and done.stderr == f"python -m benchmarks.frontier: error: {folder}: {message}\n"
    assert not (tmp_path / "teacher" / "onnx").exists()  # checked before the first entry was exported
    done = frontier_cli()
    assert done.stderr == "python -m benchmarks.frontier: error: the following arguments are required: --runs\n"


def test_the_notebooks_split_is_named_notebook(runs):
    """Its train.tsv (the card's source) sampled and split as recipes/notebook.yaml says."""
    (teacher,) = frontier.read_candidates([runs / "teacher"])
    assert teacher.card["source"]["notebook"] and teacher.data == DATA
    teacher.card["data"]["sample_fraction"] = 0.5
    assert teacher.data == "notebook"
    teacher.card["source"]["notebook"] = False
    assert teacher.data == "sst2, sample_fraction 0.5, validation_fraction 0.3, validation_split sample"


def test_the_table_is_generated_from_the_result(measured, tiny_model_dir):
    result = measured[1]
    model = tiny_model_dir.name
    text = tables.frontier([result])
    assert f"[{result['date']}](../benchmarks/results/{result['date']}-1-cpu-frontier.json), cpu: " in text
    assert f"![Validation accuracy against batch-1 latency](../benchmarks/results/{result['date']}-1-cpu-frontier.png)" in text
    teacher, plain, student = result["candidates"]
    recovery = f"{100 * student['recovery']['validation']:.1f}% / {100 * student['recovery']['dev']:.1f}%"
    size = f"{teacher['parameters'] / 1e6:.1f}M"
    assert (f"| student | {model} | teacher | {DATA} | {size} | {student['validation_accuracy']['mean']:.4f} "
            f"| {student['dev_accuracy']['mean']:.4f} | {recovery} |") in text  # fmt: skip
    assert f"| plain | {model} | — | {DATA} | {size} | {plain['validation_accuracy']['mean']:.4f} ± " in text
    int8, slow = student["backends"][2]["p50_ms"], teacher["backends"][0]["p50_ms"]
    verdict = "met" if int8 * 8 <= slow else "not met"
    assert (f"teacher's PyTorch {slow:.2f} ms (goal ≤ 1/8: {verdict})." in text and "over 1 seed(s) (goal ≥ 0.881 over "
            "5 seeds: not met)" in text)  # fmt: skip
    assert text.count("| ★ |") == sum(b["pareto"] for c in result["candidates"] for b in c["backends"]) >= 1
    assert tables.frontier([]).startswith("Not measured yet: benchmarks/results/ holds no frontier.")
