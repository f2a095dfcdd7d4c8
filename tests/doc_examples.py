"""The machinery of tests/test_doc_examples.py: the documented blocks found and compared (exactly, with numbers
masked, or as an excerpt), and the workspace the documented commands run in, with the tiny runs they need."""

import contextlib
import io
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from itertools import groupby, takewhile
from pathlib import Path

import inference.export
import inference.predict
import run_finetune
import run_seeds
from errors import exit_in_one_line

from .conftest import ROOT, SST2_DIR, SST_TREES_DIR

sst_data_main = import_module("sst_data.__main__").main
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- example: ([a-z0-9_]+) -->$")
CHECKOUT = "/home/you/sst2"  # where the docs' commands run
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"  # how the docs' runs name their model
DEV_ROWS = 40  # of the real dev.tsv, in the shared data folder: evaluation stays short
TINY_RUN = ["--data_dir", "data/sst2", "--sample_fraction", "0.05", "--max_length", "32",
            "--disable_tqdm", "true"]  # fmt: skip  # 242 train / 104 validation rows: 8 steps an epoch
STEPS_PER_EPOCH = 8


# ---------------------------------------------------------------------------------------------------------------
# The documented blocks
# ---------------------------------------------------------------------------------------------------------------


def documented() -> dict[str, list[tuple[str, list[str] | None]]]:
    """Every marker in the docs: id → [(file:line, the block's lines, or None when no block follows it)]."""
    found = {}
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.lstrip().startswith("<!-- example"):  # a marker; not a mention in prose
                continue
            where = f"{doc.relative_to(ROOT)}:{number}"
            marker = MARKER.match(line)
            assert marker, f"{where}: a marker is `<!-- example: ID -->` alone on its line (ID: a-z, 0-9, _)"
            after, block = lines[number:], None
            fence = re.match(r"^(```|~~~)", after[0]) if after else None
            if fence:
                end = next((i for i, text in enumerate(after[1:], start=1) if text.startswith(fence[1])), None)
                block = after[1:end] if end else None
            elif after and after[0].startswith("|"):
                block = list(takewhile(lambda text: text.startswith("|"), after))
            found.setdefault(marker[1], []).append((where, block))
    return found


def shown_output(block: list[str]) -> str:
    """The block without its command lines (`$ ...` and their continuations)."""
    output, continued = [], False
    for line in block:
        if line.startswith("$ ") or continued:
            continued = line.endswith("\\")
            continue
        output.append(line)
    return "\n".join(output)


# ---------------------------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------------------------

NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")
PROGRESS = re.compile(r"\|[^|]*\| *\d+/\d+ \[|it/s\]|batch/s\]|examples/s\]")  # tqdm's bars


def normalized(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r", "\n").splitlines()]
    lines = [line for line in lines if not PROGRESS.search(line)]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def masked(lines: list[str]) -> list[str]:
    """Every number as N; in a table, a run of equal cells as one (`N…`); a list of numbers as `N, …`; then a run
    of equal lines as one."""
    out = []
    for line in lines:
        line = re.sub(r"N(?:, N)+", "N, …", NUMBER.sub("N", line))
        if line.startswith("|") and line.endswith("|"):
            cells = [cell.strip() for cell in line[1:-1].split("|")]
            cells = [cell + ("…" if len(list(run)) > 1 else "") for cell, run in groupby(cells)]
            line = "| " + " | ".join(cells) + " |"
        out.append(line)
    return [line for line, _ in groupby(out)]


@dataclass
class Example:
    produce: Callable[["Workspace"], str]
    numbers: bool = False  # numbers masked: the docs show a real MiniLM run's, or a timing
    excerpt: bool = False  # the docs show some of the lines, in order (`…`: some left out)
    masks: tuple[tuple[str, str], ...] = ()  # (pattern, replacement) on both sides: what differs by machine or model


def compare(example: Example, docs: str, produced: str) -> str | None:
    """None when the docs show what was produced; else what differs."""
    sides = []
    for text in (docs, produced):
        for pattern, replacement in example.masks:
            text = re.sub(pattern, replacement, text)
        lines = normalized(text)
        sides.append(masked(lines) if example.numbers else lines)
    shown, made = sides
    if example.excerpt:
        position = 0
        for line in (line for line in shown if line and line != "…"):
            try:
                position = made.index(line, position) + 1
            except ValueError:
                return (f"the docs show a line the output does not have (after line {position}):\n{line}\n\n"
                        "the code printed:\n" + "\n".join(made))
        return None
    if shown != made:
        return "the docs show:\n" + "\n".join(shown) + "\n\nthe code printed:\n" + "\n".join(made)
    return None


# ---------------------------------------------------------------------------------------------------------------
# Running the commands
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def line(self) -> str:
        """The one line a refused command ends with (exit 1, no traceback)."""
        assert self.code == 1 and "Traceback" not in self.err, self.err[-3000:]
        return self.err.strip().splitlines()[-1]


class Workspace:
    """A checkout-like folder to run the documented commands in, and the tiny runs they need (each made once)."""

    def __init__(self, root: Path, model: Path, minilm: Path):
        self.main, self.fresh, self.model, self.minilm = root / "main", root / "fresh", model, minilm
        data = self.main / "data" / "sst2"
        data.mkdir(parents=True)
        self.fresh.mkdir()
        (data / "train.tsv").symlink_to(SST2_DIR / "train.tsv")
        (data / "dev.tsv").write_text(
            "".join((SST2_DIR / "dev.tsv").read_text(encoding="utf-8").splitlines(keepends=True)[: DEV_ROWS + 1]),
            encoding="utf-8",
        )
        (root / "shared" / "data").mkdir(parents=True)
        (root / "shared" / "data" / "sst-trees").symlink_to(SST_TREES_DIR, target_is_directory=True)

    def call(self, main, prog: str, argv: list[str], stdin: bytes | None = None, cwd: Path | None = None) -> Result:
        """`prog ARGV` as its entry point runs it: its exit code, standard output and standard error."""
        out, err = io.StringIO(), io.StringIO()
        saved_stdin = sys.stdin
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        try:
            with contextlib.chdir(cwd or self.main), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    exit_in_one_line(lambda: main([str(arg) for arg in argv]), prog)
                    code = 0
                except SystemExit as end:  # sys.exit("message"): Python prints the message, exit status 1
                    code = 1 if isinstance(end.code, str) else end.code or 0
                    if isinstance(end.code, str):
                        err.write(end.code + "\n")
        finally:
            sys.stdin = saved_stdin
        return Result(code, out.getvalue(), err.getvalue())

    def run_finetune(self, *argv, **kwargs) -> Result:
        return self.call(run_finetune.main, "run_finetune.py", list(argv), **kwargs)

    def predict(self, *argv, **kwargs) -> Result:
        return self.call(inference.predict.main, "python -m inference.predict", list(argv), **kwargs)

    def sst_data(self, *argv) -> Result:
        """In a fresh checkout: the conversions write the data/sst2/ that `main/` already holds."""
        return self.call(sst_data_main, "python -m sst_data", list(argv), cwd=self.fresh)

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.main / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def as_documented(self, text: str) -> str:
        """This machine's paths and the tiny model's name, as the docs show them."""
        return text.replace(str(self.main.resolve()), CHECKOUT).replace(self.model.name, MINILM_ID)

    @cached_property
    def run(self) -> dict[str, Result]:
        """The shared tiny run in outputs/x, through the states the docs show: empty, interrupted, refused a rerun
        with other settings, resumed to the end."""
        results = {}
        self.write("reviews.txt", "a gorgeous, witty, seductive movie.\n")
        (self.main / "outputs" / "x").mkdir(parents=True)
        results["no_model"] = self.predict("--output_dir", "outputs/x", "--input", "reviews.txt")

        command = [
            "--model_name_or_path",
            self.model,
            "--output_dir",
            "outputs/x",
            *TINY_RUN,
            "--num_train_epochs",
            "3",
        ]
        results["sigint"] = self.interrupted_after_first_epoch(command)
        results["predict_unfinished"] = self.predict("--output_dir", "outputs/x", "--input", "reviews.txt")
        results["export_unfinished"] = self.call(inference.export.main, "python -m inference.export",
                                                 ["--output_dir", "outputs/x"])  # fmt: skip
        results["rerun_refused"] = self.run_finetune(*command[:-1], "2", "--learning_rate", "1e-3",
                                                     "--sample_fraction", "0.1")  # fmt: skip
        results["resumed"] = self.run_finetune(*command)
        assert results["resumed"].code == 0, results["resumed"].err[-3000:]
        return results

    def interrupted_after_first_epoch(self, command: list) -> Result:
        """The run, sent SIGINT once its first epoch's checkpoint is whole (trainer_state.json is written last)."""
        state = self.main / "outputs" / "x" / f"checkpoint-{STEPS_PER_EPOCH}" / "trainer_state.json"
        done = threading.Event()

        def interrupt():
            while not done.is_set():
                try:
                    if json.loads(state.read_text())["global_step"] == STEPS_PER_EPOCH:
                        os.kill(os.getpid(), signal.SIGINT)
                        return
                except (OSError, ValueError):
                    pass
                time.sleep(0.02)

        watcher = threading.Thread(target=interrupt, daemon=True)
        previous = signal.signal(signal.SIGINT, lambda *_: None)  # a SIGINT after training must not stop pytest
        try:
            watcher.start()
            result = self.run_finetune(*command)
        finally:
            done.set()
            watcher.join()
            signal.signal(signal.SIGINT, previous)
        assert result.code == 130, f"the run was not interrupted (exit {result.code}): {result.err[-3000:]}"
        return result

    @cached_property
    def study(self) -> dict[str, str]:
        """A 3-seed study of the tiny model (1 epoch a run; fewer seeds give no verdict), varying all seeds, then each
        alone over 2 seeds in the same folder (the run with every seed at 42 shared): its seeds.md, and variance.md's
        table."""
        study = ["--model_name_or_path", self.model, "--output_dir", "outputs/seeds", *TINY_RUN, "--num_train_epochs", "1"]
        summaries = {}
        for vary, seeds in (("all", ["42", "43", "44"]), ("each", ["42", "43"])):
            result = self.call(run_seeds.main, "run_seeds.py", ["--seeds", *seeds, *study, "--vary", vary])
            assert result.code == 0, result.err[-3000:]
            summary = "variance.md" if vary == "each" else "seeds.md"
            summaries[summary] = (self.main / "outputs" / "seeds" / summary).read_text(encoding="utf-8")
        return summaries
