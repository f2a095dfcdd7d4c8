"""Benchmark results kept as data (benchmarks/results/): every file fits the schema, the runs carried over from the lab
notes hold only numbers the notes record, and docs/benchmarks.md's tables are exactly what the files generate."""

import copy
import json
import re
import shutil
import subprocess
import sys

import pytest

from benchmarks import bench, results, tables

from .conftest import ROOT

CONTENDERS = {"loop", *bench.PROJECT}
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def committed() -> list[dict]:
    return results.load()


def test_every_committed_result_fits_the_schema(committed):
    assert len(committed) >= 13 and {"training", "serving"} <= {r["kind"] for r in committed}
    for result in committed:
        assert results.problems(result) == [], result["file"]
        assert result["file"].startswith(result["date"] + "-"), result["file"]  # named by date, then order
        for entry in result.get("contenders", []):
            assert entry["name"] in CONTENDERS and entry["status"] in ("ok", "failed", "cut off"), result["file"]
            if entry["status"] != "ok":
                assert entry["note"], (result["file"], entry["name"])  # why it has no numbers
    assert results.problems({"kind": "training"})[:2] == ["no 'date'", "no 'device'"]
    assert results.problems({"kind": "timing"}) == ["kind 'timing': not one of training, profile, serving, http, data-scale"]


def section(text: str, anchor: str) -> str:
    """A Markdown section by its anchor: from its heading to the next heading of the same or a higher level."""
    headings = list(HEADING.finditer(text))
    for i, heading in enumerate(headings):
        if tables_slug(heading[2]) == anchor:
            level = len(heading[1])
            end = next((h.start() for h in headings[i + 1 :] if len(h[1]) <= level), len(text))
            return text[heading.start() : end]
    raise AssertionError(f"no heading #{anchor}")


def tables_slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def recorded_numbers(result: dict) -> list[float]:
    """The numbers of a carried-over result that the notes must hold as written (not those derived from them)."""
    found = []
    for entry in result.get("contenders", []) + result.get("backends", []):
        for key in ("train_s", "accuracy_per_epoch"):
            found += entry.get(key) or []
        for key in ("whole_command_s", "accuracy", "validation_s_per_epoch_mean", "peak_mb", "size_mb",
                    "batch1_p50_ms", "batch1_reviews_per_s", "batch32_reviews_per_s", "dev_accuracy"):
            found += [entry[key]] if entry.get(key) is not None else []
        if entry.get("train_s") is None and entry.get("train_s_per_epoch_mean") is not None:  # else derived from it
            found.append(entry["train_s_per_epoch_mean"])
        found += [v for v in (entry.get("phases") or {}).values() if v is not None]
    return found + [result[key] for key in ("matmul_gflops",) if result.get(key) is not None]


def test_the_runs_carried_over_hold_only_numbers_their_lab_notes_section_records(committed):
    """Each number is found, as written there, in the section of docs/lab-notes.md the file names as its source;
    what a section does not record is null, and the file's note says so."""
    notes = (ROOT / "docs" / "lab-notes.md").read_text(encoding="utf-8")
    carried = [r for r in committed if (r.get("source") or "").startswith("docs/lab-notes.md#")]
    assert len(carried) >= 13  # the runs of 2026-11-26 to 2026-12-01
    for result in carried:
        text = section(notes, result["source"].split("#")[1])
        written = [rf"(?<![\d.]){re.escape(f'{n:g}')}0*(?!\d)" for n in recorded_numbers(result)]  # 0.85 in 0.850
        missing = [pattern for pattern in written if not re.search(pattern, text)]
        assert not missing, (result["file"], missing)
        assert "null" in result["note"] or "not recorded" in result["note"], result["file"]


def test_the_documents_are_what_the_committed_results_generate(committed):
    """docs/benchmarks.md and docs/serving.md (its load table) between them hold every table once."""
    regions = []
    for doc in (tables.DOC, tables.SERVING_DOC):
        text = doc.read_text(encoding="utf-8")
        regions += [m[2] for m in tables.REGION.finditer(text)]
        assert tables.render(text, committed) == text, "run: python -m benchmarks.tables"
    assert sorted(regions) == sorted(tables.TABLES)
    check = subprocess.run([sys.executable, "-m", "benchmarks.tables", "--check"], capture_output=True, text=True,
                           cwd=ROOT, check=False)  # fmt: skip
    assert check.returncode == 0 and check.stdout.splitlines() == [
        f"{tables.DOC}: its 7 generated tables agree with {results.RESULTS_DIR}",
        f"{tables.SERVING_DOC}: its 1 generated tables agree with {results.RESULTS_DIR}"], check.stderr  # fmt: skip


def test_a_stale_document_is_named_in_one_line(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(tables.DOC.read_text(encoding="utf-8").replace("| 387.3 | 1.00× |", "| 380.0 | 1.00× |", 1))
    check = subprocess.run([sys.executable, "-m", "benchmarks.tables", "--check", "--doc", str(doc)],
                           capture_output=True, text=True, cwd=ROOT, check=False)  # fmt: skip
    assert check.returncode == 1 and check.stderr.strip() == (
        f"python -m benchmarks.tables: error: {doc}: out of date with {results.RESULTS_DIR}: cpu-training; run python "
        "-m benchmarks.tables")  # fmt: skip
    subprocess.run([sys.executable, "-m", "benchmarks.tables", "--doc", str(doc)], check=True, cwd=ROOT,
                   capture_output=True)  # fmt: skip
    assert doc.read_text(encoding="utf-8") == tables.DOC.read_text(encoding="utf-8")  # regenerated: the same again
    with pytest.raises(Exception, match="no table is generated as gpu-speed"):
        tables.render("<!-- generated by `python -m benchmarks.tables`: gpu-speed -->\n<!-- end of gpu-speed -->", [])


def gpu_run(model: str, contenders: list[dict], date="2026-12-09") -> dict:
    """A made-up result of a future GPU run (a test's input only, never committed)."""
    return dict.fromkeys(results.TRAINING) | {
        "kind": "training", "date": date, "device": "NVIDIA H100 80GB HBM3 (81,559 MiB)", "torch": "2.11.0+cu130",
        "transformers": "5.17.0", "model": model, "epochs": 4, "contenders": contenders, "rows": [], "failures": [],
        "file": f"{date}-1-h100-{model}.json"}  # fmt: skip


def timed(name: str, seed: int, total: float, whole: float, accuracy=None) -> dict:
    return dict.fromkeys(results.CONTENDER) | {"name": name, "seed": seed, "status": "ok", "train_s": [total / 4] * 4,
                                              "train_plus_validation_s": total, "whole_command_s": whole,
                                              "accuracy": accuracy}  # fmt: skip


def test_the_gpu_goal_says_what_a_new_gpu_run_measured(committed):
    """Not measured until a GPU run of fast-graphs is in the files; then each part of the goal, met or not."""
    assert tables.gpu_goal(committed).startswith("**Not measured yet: the one thing this suite has not measured.**")
    distilbert = gpu_run(tables.DISTILBERT, [timed("loop", 42, 8.0, 22.0), timed("fast-graphs", 42, 3.9, 21.5),
                                             timed("fast-graphs", 42, 3.6, 20.9)])  # fmt: skip
    minilm = gpu_run(tables.MINILM, [timed("fast-graphs", s, 4.0, 20.0, a) for s, a in ((42, 0.84), (43, 0.835),
                                                                                     (44, 0.845))])  # fmt: skip
    goal = tables.gpu_goal([*committed, distilbert, minilm])
    assert "4 epochs + validations 3.9, 3.6 s (goal ≤ 4.5: met); whole command 21.5 s against the loop's 22.0 (met)" in goal
    # the loop's accuracies: the committed GPU runs' (H200: 0.8439 / 0.8382 / 0.8487)
    assert "fast-graphs 0.8400 over 3 seeds, the loop 0.8436 over 3 (goal: within 1 point over 3 seeds: met)" in goal
    slower = copy.deepcopy(distilbert)
    slower["contenders"][2]["train_plus_validation_s"] = 4.7
    slower["contenders"][2]["whole_command_s"] = 22.5
    assert "(goal ≤ 4.5: not met); whole command 22.5 s against the loop's 22.0 (not met)" in tables.gpu_goal(
        [*committed, slower])  # the worse of its runs counts
    rows = tables.gpu_time([*committed, distilbert]).splitlines()
    assert rows[-1].startswith("| fast-graphs | NVIDIA H100 80GB HBM3 | [2026-12-09](../benchmarks/results/2026-12-09-")
    assert rows[-1].endswith("| 0.9, 0.9, 0.9, 0.9 | 3.6 | 3.6 | 20.9 | 0.95× |")  # its latest run, vs that loop


def test_a_newer_run_takes_its_contenders_row_and_nothing_else(committed, tmp_path):
    folder = tmp_path / "results"
    shutil.copytree(results.RESULTS_DIR, folder)
    newer = json.loads((folder / "2026-12-01-1-cpu-minilm-fastest-seed42.json").read_text())
    newer |= {"date": "2026-12-02", "source": None}
    newer["contenders"] = [dict(e, whole_command_s=e["whole_command_s"] / 2) for e in newer["contenders"]
                           if e["name"] in ("loop", "fast")]  # fmt: skip
    results.write(newer, folder / "2026-12-02-1-cpu-minilm.json")
    before = tables.cpu_training(committed).splitlines()
    after = tables.cpu_training(results.load(folder)).splitlines()
    changed = [(a.split(" | ")[0], b) for a, b in zip(before, after) if a != b]
    assert [name for name, _ in changed] == ["| loop", "| fast"]
    assert "[2026-12-02](../benchmarks/results/2026-12-02-1-cpu-minilm.json) | 27.3 | 0.31× | 69.3 | 0.36× |" in changed[1][1]


def test_the_serving_table_says_each_goal_met_or_not_from_the_latest_load_run(committed):
    """A newer `make bench-serve` result takes the table; each goal is said met or not from its rows."""
    rows = [{"backend": "onnx-int8", "concurrency": c, "requests_per_s": r, "p50_ms": p50, "p95_ms": p99 / 2,
             "p99_ms": p99, "errors": 0} for c, r, p50, p99 in ((1, 150.0, 6.0, 9.0), (16, 320.0, 45.0, 120.0))]  # fmt: skip
    run = dict.fromkeys(results.HTTP) | {"kind": "http", "date": "2026-12-09", "device": "cpu: AMD EPYC, 2 cores",
                                         "matmul_gflops": 150, "model": "minilm", "reviews": 872, "duration_s": 10,
                                         "serve_args": "", "in_process_threads": 1,
                                         "in_process": {"onnx-int8": {"batch1_p50_ms": 3.5, "batch1_p95_ms": 5.0}},
                                         "rows": rows, "file": "2026-12-09-1-cpu-serve.json"}  # fmt: skip
    assert results.problems(run) == []
    table = tables.http_serving([*committed, run])
    assert "| `onnx-int8` | 16 | 320.0 | 2.13× | 45.0 | 60.0 | 120.0 | 0 |" in table
    assert "The server's settings: its defaults; in-process batch-1 p50 in the same run, on 1 thread(s)" in table
    assert "- 0 errors at every concurrency: met." in table
    assert "at 16 clients, ≥ 2× its 1-client throughput with p99 ≤ 150 ms: met (2.13×, p99 120.0 ms)." in table
    assert "HTTP p50 ≤ in-process batch-1 p50 + 3 ms: met (6.0 ms against 3.50 + 3 ms)." in table
    rows[0]["p50_ms"], rows[1]["errors"] = 6.6, 2
    table = tables.http_serving([*committed, run])
    assert "not met (2 errors)" in table and "not met (6.6 ms against 3.50 + 3 ms)" in table
