"""The benchmark harness runs end to end (on the tiny model: a check of the harness, not a timing)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench, results

from .conftest import ROOT

pytestmark = pytest.mark.slow  # several processes, or benchmark commands: make test-fast skips them


def test_bench_quick_prints_the_side_by_side_table_and_names_a_failed_contender(tiny_model_dir, sst2_dir, tmp_path):
    """fast-gpu, refused without a GPU, stands for a lever that fails: the others are still measured and tabled, and
    the bench ends with one line naming the failed run and why (exit 1)."""
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--model", str(tiny_model_dir), "--data_dir",
         str(sst2_dir), "--quick", "--device", "cpu", "--json", str(report), "--rounds", "2",
         "--contenders", "loop", "notebook", "fast-gpu", "fast"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith(
        "python -m benchmarks.bench: error: 2 run(s) failed, the tables above hold the others: fast-gpu seed 42: run_finetune.py failed (exit 1): "
    ), result.stderr[-3000:]
    assert "GPU" in result.stderr.strip().splitlines()[-1]  # its own one-line reason, carried through
    assert "; ".join(json.loads(report.read_text())["failures"]) == result.stderr.strip().splitlines()[-1].split("others: ")[1]
    lines = result.stdout.splitlines()
    assert "[bench] round 1 fast-gpu seed 42: failed: run_finetune.py failed (exit 1): " in result.stdout
    shown = result.stdout.split("the last lines of ")[1].split("\n[bench] round 1 fast-gpu")[0].splitlines()  # its own output
    assert shown[0].endswith(".log:") and shown[-1].startswith("  run_finetune.py: error: --config ") and "--gpu_mode on: no CUDA GPU" in shown[-1]
    table = lines[lines.index(next(line for line in lines if line.startswith("| contender | train s/epoch"))) :][:5]
    assert [line.split(" | ")[0] for line in table[2:]] == ["| loop", "| notebook", "| fast"]
    assert "Tokenizing train.tsv:" in result.stdout and "(cached)" in result.stdout
    assert "Per training step, whatever the batch (31 steps an epoch at batch 32): clip_grad_norm " in result.stdout
    document = json.loads(report.read_text())
    assert results.problems(document) == [] and document["kind"] == "training" and document["epochs"] == 1
    assert document["rounds"] == 2
    assert [(c["round"], c["name"], c["seed"], c["run"], c["status"]) for c in document["contenders"]] == [
        (1, "loop", 42, 1, "ok"), (1, "notebook", 42, 2, "ok"), (1, "fast-gpu", 42, 3, "failed"), (1, "fast", 42, 4, "ok"),
        (2, "notebook", 42, 5, "ok"), (2, "fast-gpu", 42, 6, "failed"), (2, "fast", 42, 7, "ok"), (2, "loop", 42, 8, "ok")]  # rotated
    for entry in (c for c in document["contenders"] if c["status"] == "ok"):  # each run as the schema names it
        assert len(entry["train_s"]) == 1 and entry["train_s"][0] == entry["epochs"][0]["training_time"] > 0
        assert entry["train_plus_validation_s"] == pytest.approx(entry["train_s"][0] + entry["validation_s"])
        assert entry["whole_command_s"] > entry["train_plus_validation_s"] and 0 <= entry["accuracy"] <= 1
    assert f"Results (JSON): {report}" in result.stdout
    per_step = document["per_step_s"]
    assert set(per_step) == {"clip_grad_norm", "adamw_torch", "adamw_torch_fused"} and all(t > 0 for t in per_step.values())
    rows = {row["contender"]: row for row in json.loads(report.read_text())["rows"]}
    assert set(rows) == {"loop", "notebook", "fast"}
    assert all(row["train_s_per_epoch"] > 0 for row in rows.values())
    runs = {(c["round"], c["name"]): c for c in document["contenders"] if c["status"] == "ok"}
    for line in table[2:]:  # each ratio: the median, and range, of that contender's training time over the loop's
        name = line.split(" | ")[0].removeprefix("| ")
        ratios = sorted(runs[n, name]["train_s_per_epoch_mean"] / runs[n, "loop"]["train_s_per_epoch_mean"] for n in (1, 2))
        assert rows[name]["train_vs_loop"] == pytest.approx({"median": sum(ratios) / 2, "min": ratios[0], "max": ratios[1], "n": 2})
        assert line.endswith(f"| {sum(ratios) / 2:.2f}× ({ratios[0]:.2f}–{ratios[1]:.2f}, 2 rounds) |")
    # 20% of train.tsv (1384 rows), 70/30: 968 training rows
    assert "968 training rows" in result.stdout

    # The whole command, launch to exit: every measured phase fits inside it, the remainder is what is left.
    whole = lines[lines.index(next(line for line in lines if line.startswith("| contender | whole command |"))) :][:5]
    assert [line.split(" | ")[0] for line in whole[2:]] == ["| loop", "| notebook", "| fast"]
    for name, row in rows.items():
        phases = row["phases"]
        assert row["wall_s"] > phases["training"] > 0 and phases["imports"] > 0 and phases["setup"] > 0
        assert phases["reports and exit"] >= 0, phases  # the measured phases never add up to more than the wall time
        assert (phases["final evaluation"] > 0) == (name != "loop")  # the loop, like the notebook, evaluates nothing at the end


def test_bench_seeds_sets_a_study_beside_the_same_runs_launched_one_by_one(tiny_model_dir, sst2_dir):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_seeds", "--model", str(tiny_model_dir), "--data_dir",
         str(sst2_dir), "--seeds", "42", "43", "--sample_fraction", "0.05"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split(" | ")[0]: line.strip("| ").split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")}
    study, separate = rows["| study (run_seeds.py, 2 seeds)"], rows["| 2 separate run_finetune.py"]
    for row in (study, separate):
        wall, imports, own, rest, per_seed = map(float, row[1:6])
        assert wall > own > 0 and imports > 0 and rest == pytest.approx(wall - own, abs=0.11)
        assert per_seed == pytest.approx(rest / 2, abs=0.06)
    # The study's wall over the separate runs', shown to 2 decimals from unrounded walls, each printed within 0.05 s.
    ratio = float(study[1]) / float(separate[1])
    assert float(study[6].rstrip("×")) == pytest.approx(ratio, abs=0.006 + 0.05 * (1 + ratio) / float(separate[1]))


def test_a_contender_keeps_the_callers_python_path(tmp_path, monkeypatch):
    """On the GPU machine datasets and evaluate are only reachable through PYTHONPATH: each command must keep it."""
    (tmp_path / "only_on_the_path.py").write_text("def main():\n    print('ran')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    run = bench.run_command("only_on_the_path", [], tmp_path, "probe")
    assert (tmp_path / "probe.log").read_text() == "ran\n" and run["wall"] > run["imports"] > 0


def test_new_shape_cost_times_every_backend_group_on_unseen_lengths(tiny_model_dir):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.new_shape_cost", "--model", str(tiny_model_dir), "--device", "cpu"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "warm-up (every backend)", "every backend (the default)", "without cuDNN", "math only"
    ]
    for line in lines:
        first, again = (float(part.split()[-2]) for part in line.split(", ")[1:])
        assert "18 new lengths" in line and first > 0 and again > 0


def test_the_cudagraphs_contender_compiles_with_static_shapes(tiny_model_dir, tmp_path):
    """Its environment reaches torch.compile through the Trainer and accelerate as dynamic=False (one graph recorded
    per batch size: one, its last batch filled), and the contender alone has it; compiling needs a CUDA GPU."""
    assert [name for name, (_, _, env) in bench.PROJECT.items() if env] == ["fast-cudagraphs"]
    _, flags, env = bench.PROJECT["fast-cudagraphs"]
    assert flags[:2] == ["--fill_last_batch", "true"] and bench.PROJECT["fast-graphs"][0].name == "fast-graphs.yaml"
    probe = f"""
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
args = TrainingArguments(output_dir={str(tmp_path)!r}, use_cpu=True, report_to="none",
                         torch_compile=True, torch_compile_backend={flags[flags.index("--torch_compile_backend") + 1]!r})
trainer = Trainer(model=AutoModelForSequenceClassification.from_pretrained({str(tiny_model_dir)!r}), args=args)
plugin = trainer.accelerator.state.dynamo_plugin
print(plugin.backend.value.lower(), plugin.dynamic)
"""
    for added, expected in ((env, "cudagraphs False"), ({}, "cudagraphs None")):
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1", **added})  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines()[-1] == expected


def test_profile_step_counts_a_steps_work_for_each_contender_in_its_own_process(tiny_model_dir, sst2_dir, tmp_path):
    """On a CPU: operators per step and host time for the loop and a recipe (no kernels: those fields are null); the
    graphed recipe, refused without a GPU, is named in one line and the others are still measured."""
    report = tmp_path / "profile.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.profile_step", "--model", str(tiny_model_dir), "--data_dir", str(sst2_dir),
         "--device", "cpu", "--sample_fraction", "0.05", "--warmup", "2", "--steps", "3", "--json", str(report),
         "--contenders", "loop", "fast-graphs", "fast"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith(
        "python -m benchmarks.profile_step: error: 1 contender(s) failed: fast-graphs: ")
    assert "--gpu_mode on: no CUDA GPU is visible" in result.stderr.strip().splitlines()[-1]
    document = json.loads(report.read_text())
    assert results.problems(document) == [] and document["kind"] == "profile"
    assert document["steps"] == {"warmup": 2, "timed": 3, "profiled": 3}
    measured = {c["name"]: c for c in document["contenders"]}
    assert list(measured) == ["loop", "fast"]
    for name, c in measured.items():
        assert c["first_steps_s"] > 0 and c["wall_ms_per_step"] >= c["host_ms_per_step"] > 0, name
        total = c["cpu_ops_per_step"] * 3  # operators counted over the 3 profiled steps: a whole number
        assert total > 300 and abs(total - round(total)) < 1e-6, name
        assert all(c[k] is None for k in ("gpu_kernels_per_step", "gpu_busy_ms_per_step", "host_launches_per_step",
                                          "graph_launches_per_step", "syncs_per_step")), name  # fmt: skip
        counts = [n for _, n in c["top_ops"]]  # the most called operators, most first
        assert len(counts) == 8 and counts == sorted(counts, reverse=True) and sum(counts) <= c["cpu_ops_per_step"]
        assert all(op.startswith("aten::") for op, _ in c["top_ops"]), name
        assert f"[profile] {name}: first " in result.stdout
    assert measured["fast"]["cpu_ops_per_step"] != measured["loop"]["cpu_ops_per_step"]  # two programs, two counts


def test_gpu_sh_runs_end_to_end_on_a_cpu_and_leaves_its_files(tiny_model_dir, sst2_dir, tmp_path):
    """The GPU check's script, tried as its header says on a CPU (CPU contenders stand in for the GPU's): every step
    ends in time, and what it leaves in OUT is what comes back from the device machine: at most 8 plain files, one
    folder, each JSON result in the schema."""
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "benchmarks/gpu.sh", str(out), "--quick", "--device", "cpu", "--model",
                             str(tiny_model_dir), "--data_dir", str(sst2_dir)], capture_output=True, text=True,
                            cwd=ROOT, env=env)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["distilbert.json", "distilbert.log", "machine.txt", "minilm.json", "minilm.log", "profile.json",
                     "profile.log"] and all((out / f).is_file() for f in files)  # fmt: skip
    steps = [line for line in (out / "machine.txt").read_text().splitlines() if line.startswith("step ")]
    assert [line.split(":")[0] for line in steps] == ["step profile", "step distilbert", "step minilm"]
    assert all(": exit 0 after " in line for line in steps), steps
    for name, contenders in {"profile": ["loop", "fast"], "distilbert": ["loop", "fast"], "minilm": ["fast"]}.items():
        document = json.loads((out / f"{name}.json").read_text())
        assert results.problems(document) == [] and [c["name"] for c in document["contenders"]] == contenders, name
    assert json.loads((out / "minilm.json").read_text())["seeds"] == [42]  # --quick: one seed
