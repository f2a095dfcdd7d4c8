"""The documentation shows today's output: every block of README.md or docs/*.md that shows what a command prints or
writes, and that can be made on a tiny model, is made here and compared with what the docs show.

A block is marked by an HTML comment on the line before it (a fenced block, or a Markdown table):

    <!-- example: sst_data_phrases -->
    ```
    $ python -m sst_data --output_dir data/sst2-phrases --phrases
    data/sst2-phrases/train.tsv: 77189 phrases (...)
    ```

and EXAMPLES below says how to make it. Lines starting with `$ ` (and their `\\` continuations) are the command, not
its output. What is compared:

- exactly, after the few parts that are this machine's are put as the docs show them (the temporary folder the
  commands run in is the docs' checkout, `/home/you/sst2`; the tiny model's folder name is all-MiniLM-L6-v2's Hub id);
- with every number masked (`numbers`), where the docs show a real MiniLM run's numbers and the tiny model gives its
  own: labels, column names, row names and wording are still checked. Masked, a table's run of equal cells and a
  run of equal lines count once, so that 5 seeds or 4 epochs compare with the tiny runs' 2 seeds or 3 epochs;
- `excerpt`: the docs show some of the lines (`…` where some are left out), each of them in the output, in order.

The commands run in this process (their `main`, through the entry points' own `exit_in_one_line`, so that the line a
command ends with is the one it prints), in a temporary checkout-like folder: `main/`, whose `data/sst2/` holds what
`make data` makes (the real train.tsv, and 40 rows of dev.tsv to keep evaluation short); the conversions run in a
second one, `fresh/`, beside `shared/data/sst-trees/` (the real trees: the release the docs' zip holds).
One tiny run is shared: interrupted with SIGINT after its first epoch, refused a rerun with other settings, resumed to
the end; a tiny seed study (3 seeds, `all`, then 2 seeds, `each`, in the same folder) gives the summaries.
"""

import contextlib
import functools
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from itertools import groupby, takewhile
from pathlib import Path

import pytest
import torch

import inference.export
import inference.predict
import push_to_hub
import run_finetune
import run_seeds
import serving.__main__
from errors import exit_in_one_line
from sst_data.download import STANFORD_URL
from training import parse_args
from training.recipes import reproduce_flags
from training_report.model_card import base_model_card, base_model_id, command

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


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model_dir, minilm_dir):
    # One torch thread: the tiny model's steps are too small to share, and on 2 cores shared with other jobs two
    # threads made a tiny run 6-8x slower (9-12 s against 1.6 s). The examples' numbers are masked.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield Workspace(tmp_path_factory.mktemp("docs"), tiny_model_dir, minilm_dir)
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------------------------
# How each documented example is made
# ---------------------------------------------------------------------------------------------------------------


def sst_data_offline(ws: Workspace) -> str:
    unreachable = "http://127.0.0.1:9/sentiment/trainDevTestTrees_PTB.zip"  # the discard port: refused at once
    line = ws.sst_data("--source", unreachable, "--output_dir", "data/sst2", "--download_dir", "downloads").line
    return line.replace(unreachable, STANFORD_URL)


def sst_data_sentences(ws: Workspace) -> str:
    result = ws.sst_data("--source", "../shared/data/sst-trees", "--output_dir", "data/sst2")
    assert result.code == 0, result.err
    return result.out


def sst_data_phrases(ws: Workspace) -> str:
    result = ws.sst_data("--source", "../shared/data/sst-trees", "--output_dir", "data/sst2-phrases", "--phrases")
    assert result.code == 0, result.err
    return result.out


def sst_data_malformed_tree(ws: Workspace) -> str:
    (ws.fresh / "data" / "trees").mkdir(parents=True)
    (ws.fresh / "data" / "trees" / "train.txt").write_text("(3 (2 a) (3 (3 gorgeous) (2 movie)))\n(3 (2 a) (3 (3 gorgeous) (2 movie))\n")
    return ws.sst_data("--source", "data/trees", "--output_dir", "data/sst2").line


def label_style(ws: Workspace) -> str:
    ws.write("data/glue/train.tsv", "review\tlabel\na gorgeous movie\t1\na dull mess\t0\n")
    ws.write("data/glue/dev.tsv", "review\tlabel\nwitty\t1\nwitless\t3\n")
    line = ws.run_finetune(
        "--model_name_or_path", ws.model, "--data_dir", "data/glue", "--output_dir", "outputs/glue"
    ).line
    return ws.as_documented(line)


def bad_data(ws: Workspace) -> str:
    lines = []
    for rows in ("a gorgeous movie\tpositive\na dull mess\tnegative\nit is a movie\t\n",
                 "a gorgeous movie\tpositive\n\na dull mess\tnegative\n"):  # fmt: skip
        ws.write("data/mine/train.tsv", "review\tlabel\n" + rows)
        lines.append(ws.run_finetune("--model_name_or_path", ws.model, "--data_dir", "data/mine",
                                     "--output_dir", "outputs/mine").line)  # fmt: skip
    return ws.as_documented("\n".join(lines))


def bad_arguments(ws: Workspace) -> str:
    ws.write("data/odd/train.tsv", "review\tlabel\na gorgeous movie\tpositive\n")
    (ws.main / "data" / "odd" / "dev.tsv").mkdir(exist_ok=True)
    (ws.main / "data" / "none").mkdir(exist_ok=True)
    ws.write("data/three/train.tsv", "review\tlabel\na\tpositive\nb\tnegative\nc\tpositive\nd\tnegative\n")
    ws.write("notes.txt", "mine\n")
    run = ["--model_name_or_path", ws.model, "--data_dir", "data/sst2", "--output_dir", "outputs/bad"]
    commands = [
        [*run, "--learning_rate", "0"],
        [*run, "--sample_fraction", "1.5"],
        [*run, "--max_length", "2"],
        ["--model_name_or_path", ws.minilm, *run[2:], "--max_length", "600"],
        [*run, "--text_column", "label"],
        [*run, "--do_train"],
        [*run, "--data_dir", "data/none"],
        [*run, "--data_dir", "data/odd"],
        [*run, "--output_dir", "notes.txt"],
        [*run, "--model_name_or_path", "./no-model"],
        [*run, "--data_dir", "data/three", "--sample_fraction", "0.75"],
    ]
    return "\n".join(ws.run_finetune(*argv).line for argv in commands)


def rerun_refused(ws: Workspace) -> str:
    return ws.run["rerun_refused"].line


def sigint(ws: Workspace) -> str:
    result = ws.run["sigint"]
    assert "Traceback" not in result.err
    return next(line for line in result.err.splitlines() if line.startswith("run_finetune.py: "))


def epoch_table(ws: Workspace) -> str:
    out = ws.run["resumed"].out
    start = out.index("| Epoch |")
    return "\n".join(takewhile(lambda line: line.startswith("|"), out[start:].splitlines()))


def card_trained(ws: Workspace) -> str:
    ws.run  # noqa: B018  (the finished run)
    card = (ws.main / "outputs" / "x" / "README.md").read_text(encoding="utf-8")
    return next(line for line in card.splitlines() if line.startswith("Trained for "))


def card_command(ws: Workspace) -> str:
    """The Reproduce command of the card of recipes.md's MiniLM run (`make reproduce MODEL=<MiniLM folder>
    DATA_DIR=data/sst2 OUTPUT_DIR=outputs/minilm-notebook`), as the card builds it."""
    with contextlib.chdir(ws.main):
        arguments = parse_args(["--config", "recipes/notebook.yaml", "--model_name_or_path", str(ws.minilm),
                                "--data_dir", "data/sst2", "--output_dir", "outputs/minilm-notebook"])  # fmt: skip
        name = base_model_id(str(ws.minilm), base_model_card(str(ws.minilm))) or ws.minilm.name
        return command(reproduce_flags(*arguments), 1, name)


def predict_labelled(ws: Workspace) -> str:
    ws.run  # noqa: B018  (the finished run)
    result = ws.predict("--output_dir", "outputs/x", "--input", "data/sst2/dev.tsv",
                        "--predictions", "outputs/predictions/dev.tsv")  # fmt: skip
    assert result.code == 0, result.err[-3000:]
    return result.out


def predict_stdin(ws: Workspace) -> str:
    ws.run  # noqa: B018  (the finished run)
    reviews = "a gorgeous, witty, seductive movie.\nthe plot is nothing but boilerplate clichés from start to finish.\n"
    result = ws.predict("--output_dir", "outputs/x", "--input", "-", stdin=reviews.encode())
    assert result.code == 0, result.err[-3000:]
    return result.err + result.out


def predict_errors(ws: Workspace) -> str:
    lines = []
    for name, data in [("reviews.txt", b"a gorgeous movie\n\na dull mess\n"),
                       ("reviews.txt", "a gorgeous movie\nthe caf\xe9 scene\n".encode("latin-1")),
                       ("empty.txt", b"")]:  # fmt: skip
        ws.write(name, data)
        lines.append(ws.predict("--output_dir", "outputs/x", "--input", name).line)
    lines += [ws.run["no_model"].line, ws.run["predict_unfinished"].line]
    ws.write("reviews.txt", "a gorgeous movie\n")
    lines.append(ws.predict("--output_dir", "outputs/x", "--input", "reviews.txt", "--backend", "onnx-int8").line)
    return "\n".join(lines)


def export_unfinished(ws: Workspace) -> str:
    return ws.run["export_unfinished"].line


def serve_errors(ws: Workspace) -> str:
    """make serve's refusals: the shared run made unfinished for a moment, its missing export, a port taken."""
    ws.run  # noqa: B018  (the finished run)
    serve = functools.partial(ws.call, serving.__main__.main, "python -m serving")
    marker = ws.main / "outputs" / "x" / "all_results.json"
    marker.rename(marker.with_suffix(".away"))
    try:
        lines = [serve(["--output_dir", "outputs/x"]).line]
    finally:
        marker.with_suffix(".away").rename(marker)
    lines.append(serve(["--output_dir", "outputs/x", "--backend", "onnx-int8"]).line)
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already taken by another program: the same refusal
            taken.bind(("127.0.0.1", 8000))
            taken.listen()
        lines.append(serve(["--output_dir", "outputs/x", "--port", "8000"]).line)
    return "\n".join(lines)


def recipe_errors(ws: Workspace) -> str:
    notebook = (ROOT / "recipes" / "notebook.yaml").read_text(encoding="utf-8")
    ws.write("notebook.yaml", notebook)
    recipes = ["".join(line for line in notebook.splitlines(keepends=True) if not line.startswith("max_length:")),
               "base: notebook.yml\n",
               "base: notebook.yaml\nnum_train_epochs: four\n"]  # fmt: skip
    lines = []
    for recipe in recipes:
        ws.write("my-recipe.yaml", recipe)
        lines.append(ws.run_finetune("--config", "my-recipe.yaml").line)
    return "\n".join(lines)


def gpu_mode_on(ws: Workspace) -> str:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible: --gpu_mode on is not refused here")
    return ws.run_finetune("--config", "recipes/fast-gpu.yaml", cwd=ROOT).line


def push_failed(ws: Workspace) -> str:
    ws.run  # noqa: B018  (the finished run)
    (ws.main / "outputs" / "notebook").symlink_to("x", target_is_directory=True)
    saved = os.environ.get("HF_TOKEN")
    os.environ["HF_TOKEN"] = "hf_not_a_real_token"  # offline (HF_HUB_OFFLINE=1): the push fails before any request
    try:
        result = ws.call(push_to_hub.main, "push_to_hub.py",
                         ["--output_dir", "outputs/notebook", "--hub_model_id", "you/sst2-distilbert"])  # fmt: skip
    finally:
        os.environ.pop("HF_TOKEN") if saved is None else os.environ.update(HF_TOKEN=saved)
    assert "hf_not_a_real_token" not in result.out + result.err
    return result.line


def seeds_md(ws: Workspace) -> str:
    return ws.as_documented(ws.study["seeds.md"])


def variance_md(ws: Workspace) -> str:
    return "\n".join(line for line in ws.study["variance.md"].splitlines() if line.startswith("|"))


# The network's own words for why it failed differ by machine (no DNS, refused, offline mode): not compared.
DOWNLOAD_REASON = (r"cannot download \(.*?\); offline\?", "cannot download (REASON); offline?")
PUSH_REASON = (r"failed: .*\. The run in ", "failed: REASON. The run in ")
# The tiny model's runs scatter widely: where its interval falls against the notebook, and whether it was cut at the
# metric's range, are its own (the wording of both is checked in tests/test_study_report.py).
TINY_STUDY = (
    (r"(inside|outside) the 95% interval(.*?): (consistent with this recipe|not reproduced by this recipe and model)",
     r"INSIDE OR OUTSIDE the 95% interval\2: READING"),
    (r" \(clipped to the metric's range\)", ""),
)  # fmt: skip
EXAMPLES = {
    # docs/data.md
    "sst_data_offline": Example(sst_data_offline, masks=(DOWNLOAD_REASON,)),
    "sst_data_sentences": Example(sst_data_sentences),
    "sst_data_malformed_tree": Example(sst_data_malformed_tree),
    "sst_data_phrases": Example(sst_data_phrases),
    "label_style": Example(label_style),
    # docs/run-folder.md
    "rerun_refused": Example(rerun_refused),
    "sigint": Example(sigint, numbers=True),
    "bad_data": Example(bad_data),
    "bad_arguments": Example(bad_arguments),
    # docs/predict-and-export.md
    "predict_labelled": Example(predict_labelled, numbers=True),
    "predict_stdin": Example(
        predict_stdin,
        numbers=True,
        masks=((r"(torch|onnx-int8|onnx), batches", "BACKEND, batches"), (r"\t(positive|negative)\t", "\tLABEL\t")),
    ),
    "predict_errors": Example(predict_errors),
    "export_unfinished": Example(export_unfinished),
    # docs/serving.md
    "serve_errors": Example(serve_errors),
    # docs/recipes.md
    "recipe_errors": Example(recipe_errors),
    "epoch_table": Example(epoch_table, numbers=True),
    # docs/seeds.md
    "seeds_md": Example(seeds_md, numbers=True, excerpt=True, masks=TINY_STUDY),
    "variance_md": Example(variance_md, numbers=True),
    # docs/publishing.md
    "push_failed": Example(push_failed, masks=(PUSH_REASON,)),
    "card_command": Example(card_command),
    "card_trained": Example(card_trained, numbers=True),
    # docs/distributed-and-gpu.md
    "gpu_mode_on": Example(gpu_mode_on),
}


# ---------------------------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------------------------


def test_every_marker_marks_a_block_and_has_a_producer_and_every_producer_a_marker():
    found = documented()
    problems = [f"{where}: `<!-- example: {name} -->` is followed by no fenced block or table"
                for name, places in found.items() for where, block in places if block is None]  # fmt: skip
    problems += [f"{', '.join(where for where, _ in places)}: example {name} is marked more than once"
                 for name, places in found.items() if len(places) > 1]  # fmt: skip
    problems += [f"{places[0][0]}: example {name} has no producer in EXAMPLES"
                 for name, places in found.items() if name not in EXAMPLES]  # fmt: skip
    problems += [f"EXAMPLES[{name!r}]: no `<!-- example: {name} -->` in README.md or docs/"
                 for name in EXAMPLES if name not in found]  # fmt: skip
    assert not problems, "\n".join(problems)


def test_the_comparison_fails_on_a_changed_line_and_masks_only_what_it_should():
    numbers = Example(lambda ws: "", numbers=True)
    assert compare(numbers, "| 1 | 0.6601 | 48.1 |\n| 2 | 0.4298 | 47.1 |", "| 1 | 0.69 | 8.4 |") is None
    assert compare(numbers, "| dev | 872 | 0.3990 |", "| dev (official) | 40 | 0.6 |") is not None
    assert compare(numbers, "seeds 42, 43, 44, 45, 46, varying all", "seeds 42, 43, varying all") is None
    assert compare(Example(lambda ws: ""), "exit 1; rerun", "exit 1; rerun it") is not None
    excerpt = Example(lambda ws: "", numbers=True, excerpt=True)
    assert compare(excerpt, "a 1\n…\nc 3", "a 1\nb 2\nc 3\nd 4") is None
    assert compare(excerpt, "c 3\na 1", "a 1\nb 2\nc 3") is not None  # in order
    assert shown_output(["$ printf 'x' \\", "    | make predict", "out"]) == "out"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_documented_example_is_what_the_code_prints(name, workspace):
    places = documented().get(name)
    assert places, f"no `<!-- example: {name} -->` in README.md or docs/"
    where, block = places[0]
    assert block is not None, f"{where}: the marker is followed by no block"
    difference = compare(EXAMPLES[name], shown_output(block), EXAMPLES[name].produce(workspace))
    assert difference is None, f"{where} ({name}): {difference}"
