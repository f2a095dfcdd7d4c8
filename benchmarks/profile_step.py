"""Where a training step's time goes: kernels and host time per step, for the notebook's loop and the recipes, each
contender in its own process (torch.profiler). On a GPU a step of these models is launch-bound (docs/lab-notes.md,
"GPU"): what counts is how many kernels the host launches a step, how long it takes to, and whether it waits.

    python -m benchmarks.profile_step --model M --data_dir D --contenders loop fast-gpu fast-graphs --json profile.json
    python -m benchmarks.profile_step --model M --device cpu --contenders loop fast    # on a CPU: operators, no kernels

Per contender: `--warmup` steps (first-use set-up, compilation, graph capture: their seconds are `first_steps_s`), then
`--steps` steps timed (the device synchronized before and after: `wall_ms_per_step`; `host_ms_per_step` is the time
the host took to issue them, before that last synchronization: equal to the wall time when the host waits every
step), then `--steps` steps under torch.profiler: the GPU's kernels and their busy time, the host's launches (kernels,
copies, graph replays, `cudaGraphLaunch` counted apart too), its synchronizations, and PyTorch operators (`aten::`), per
step. The recipes run through `training.setup` and the Trainer, as `run_finetune.py` does (no evaluation, checkpoint or
log in between); the loop is benchmarks/notebook_loop.py's step. Results: benchmarks/results.py's "profile" schema.
"""

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch
from torch.autograd import DeviceType
from torch.utils.data import DataLoader, RandomSampler
from transformers import TrainerCallback, set_seed

from errors import ProjectError, exit_in_one_line
from sst_data import LABEL_NAMES, tokenize_reviews
from training import load_model_and_tokenizer, parse_args, setup

from . import results
from .bench import PROJECT, ROOT, model_name, model_to_time
from .notebook_loop import notebook_data, notebook_optimizer, notebook_step, padded_tensors

LAUNCHES = {"cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx", "cudaGraphLaunch",
            "cudaMemcpyAsync", "cudaMemsetAsync"}  # fmt: skip
SYNCS = {"cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy"}


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def counts(profiler, steps: int, device: str) -> dict:
    """Per step, from one profiled window of `steps` steps ended by one synchronization (not counted)."""
    events = profiler.events()
    host = Counter(e.name for e in events if e.device_type == DeviceType.CPU)
    kernels = [e for e in events if e.device_type == DeviceType.CUDA and not e.name.startswith(("Memcpy", "Memset"))]
    operators = Counter({name: n for name, n in host.items() if name.startswith("aten::")})
    on_gpu = device == "cuda"
    return {
        "gpu_kernels_per_step": len(kernels) / steps if on_gpu else None,
        "gpu_busy_ms_per_step": sum(e.time_range.elapsed_us() for e in kernels) / 1000 / steps if on_gpu else None,
        "host_launches_per_step": sum(host[n] for n in LAUNCHES) / steps if on_gpu else None,
        "graph_launches_per_step": host["cudaGraphLaunch"] / steps if on_gpu else None,
        "syncs_per_step": (sum(host[n] for n in SYNCS) - 1) / steps if on_gpu else None,
        "cpu_ops_per_step": sum(operators.values()) / steps,
        "top_ops": [[name, n / steps] for name, n in operators.most_common(8)],
    }


def activities(device: str) -> list:
    found = [torch.profiler.ProfilerActivity.CPU]
    return found + [torch.profiler.ProfilerActivity.CUDA] if device == "cuda" else found


class Windows:
    """The three windows of a contender's steps; `tick()` after each step."""

    def __init__(self, warmup: int, steps: int, device: str):
        self.warmup, self.steps, self.device = warmup, steps, device
        self.done, self.began, self.measured, self.profiler = 0, time.perf_counter(), {}, None

    def tick(self) -> bool:
        """Count a finished step; True once the last window is done."""
        self.done += 1
        if self.done == self.warmup:
            synchronize(self.device)
            self.start = time.perf_counter()
            self.measured["first_steps_s"] = self.start - self.began
        elif self.done == self.warmup + self.steps:
            issued = time.perf_counter()
            synchronize(self.device)
            end = time.perf_counter()
            self.measured |= {"wall_ms_per_step": (end - self.start) * 1000 / self.steps,
                              "host_ms_per_step": (issued - self.start) * 1000 / self.steps}  # fmt: skip
            self.profiler = torch.profiler.profile(activities=activities(self.device))
            self.profiler.__enter__()
        elif self.done == self.warmup + 2 * self.steps:
            synchronize(self.device)
            self.profiler.__exit__(None, None, None)
            self.measured |= counts(self.profiler, self.steps, self.device)
            return True
        return False


class StepWindows(TrainerCallback):
    """`Windows` over a Trainer's optimizer steps; training stops after the last window."""

    def __init__(self, windows: Windows):
        self.windows = windows

    def on_step_end(self, args, state, control, **kwargs):
        if self.windows.tick():
            control.should_training_stop = True


def profile_loop(model_path, data_dir, fraction, windows: Windows) -> None:
    """The notebook's loop, step by step (benchmarks.notebook_loop.notebook_step), on batches in random order."""
    data, _, split = notebook_data(data_dir, fraction)
    set_seed(42)
    model, tokenizer = load_model_and_tokenizer(str(model_path), LABEL_NAMES)
    train_set = padded_tensors(tokenize_reviews(split["train"], tokenizer, data.max_length), data.max_length)
    model.to(windows.device).train()
    optimizer, scheduler = notebook_optimizer(model, windows.warmup + 2 * windows.steps)
    batches = itertools.cycle(DataLoader(train_set, sampler=RandomSampler(train_set), batch_size=32))
    windows.began = time.perf_counter()
    while True:
        notebook_step(model, next(batches), optimizer, scheduler, windows.device)
        if windows.tick():
            break


def profile_recipe(contender, model_path, data_dir, fraction, windows: Windows, scratch: Path) -> None:
    """A recipe's run as run_finetune.py sets it up (training.setup), trained until the windows are done."""
    recipe, flags, _ = PROJECT[contender]  # its environment is set by the caller, before accelerate reads it
    total = windows.warmup + 2 * windows.steps
    arguments = parse_args(
        ["--config", str(recipe), "--model_name_or_path", str(model_path), "--data_dir", str(data_dir),
         "--output_dir", str(scratch / contender), "--max_steps", str(total + 1),
         "--eval_strategy", "no", "--save_strategy", "no", "--logging_strategy", "no", "--report_to", "none",
         "--disable_tqdm", "true", "--use_cpu", str(windows.device == "cpu"), *flags,
         *(["--sample_fraction", str(fraction)] if fraction else [])]
    )  # fmt: skip
    run = setup(arguments)
    run.trainer.add_callback(StepWindows(windows))
    windows.began = time.perf_counter()
    run.trainer.train()


def one(args) -> None:
    """One contender, in this process: its measurements to --json."""
    windows = Windows(args.warmup, args.steps, args.device)
    scratch = Path(tempfile.mkdtemp(prefix=f"profile-{args.one}-"))
    if args.one == "loop":
        profile_loop(args.model, args.data_dir, args.sample_fraction, windows)
    else:
        profile_recipe(args.one, args.model, args.data_dir, args.sample_fraction, windows, scratch)
    if windows.done < windows.warmup + 2 * windows.steps:
        raise ProjectError(f"{args.one}: {windows.done} steps run, {args.warmup + 2 * args.steps} needed; "
                           "pass fewer --warmup / --steps or a bigger --sample_fraction")  # fmt: skip
    args.json.write_text(json.dumps({"name": args.one, "note": None} | windows.measured))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Local model folder, or 'distilbert-base-random'.")
    parser.add_argument("--model_label", help="The model's name in the results (default: --model's folder name).")
    parser.add_argument("--tokenizer", type=Path, help="distilbert-base-random's vocabulary (as benchmarks.bench).")
    parser.add_argument("--data_dir", type=Path, default=ROOT.parent / "shared" / "data" / "sst2")
    parser.add_argument("--sample_fraction", type=float, help="Default: the notebook recipe's.")
    parser.add_argument("--contenders", nargs="+", default=["loop", "fast-gpu", "fast-graphs"], choices=["loop", *PROJECT])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--warmup", type=int, default=10, help="Steps before the timed window (default 10).")
    parser.add_argument("--steps", type=int, default=20, help="Steps timed, then as many profiled (default 20).")
    parser.add_argument("--json", type=Path, help="Where the results go (default: profile.json in a scratch folder).")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a contender, measured in this process
    args = parser.parse_args()
    if args.one:
        return one(args)
    command = " ".join(["python -m benchmarks.profile_step", *sys.argv[1:]])
    scratch = Path(tempfile.mkdtemp(prefix="sst2-profile-"))
    args.json = args.json or scratch / "profile.json"
    model = model_to_time(args.model, args.tokenizer, scratch)
    document = results.machine(args.device) | {
        "kind": "profile", "date": results.today(), "model": args.model_label or model_name(args.model),
        "command": command, "source": None, "note": None, "steps": {"warmup": args.warmup, "timed": args.steps,
        "profiled": args.steps}, "contenders": [], "failures": [],
    }  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for contender in args.contenders:
        out = scratch / f"{contender}.json"
        flags = ["--model", str(model), "--data_dir", str(args.data_dir), "--device", args.device, "--warmup",
                 str(args.warmup), "--steps", str(args.steps), "--json", str(out), "--one", contender]  # fmt: skip
        if args.sample_fraction:
            flags += ["--sample_fraction", str(args.sample_fraction)]
        added = PROJECT[contender][2] if contender in PROJECT else {}
        result = subprocess.run([sys.executable, "-m", "benchmarks.profile_step", *flags], cwd=ROOT, check=False,
                                env=env | added, capture_output=True, text=True)  # fmt: skip
        if result.returncode:
            tail = result.stderr.strip().splitlines()[-12:] or ["(no output)"]
            print(f"[profile] {contender}: failed; its last lines:", *tail, sep="\n  ", flush=True)
            document["failures"].append(f"{contender}: {tail[-1]}")
        else:
            measured = json.loads(out.read_text())
            document["contenders"].append(measured)
            print(f"[profile] {contender}: {describe(measured)}", flush=True)
        results.write(document, args.json)
    print(f"\nResults (JSON): {args.json}")
    if document["failures"]:
        raise ProjectError(f"{len(document['failures'])} contender(s) failed: {'; '.join(document['failures'])}")


def describe(measured: dict) -> str:
    line = (f"first {measured['first_steps_s']:.2f} s; a step {measured['wall_ms_per_step']:.2f} ms "
            f"(host {measured['host_ms_per_step']:.2f} ms); {measured['cpu_ops_per_step']:.0f} operators")  # fmt: skip
    if measured["gpu_kernels_per_step"] is not None:
        line += (f", {measured['gpu_kernels_per_step']:.0f} kernels ({measured['gpu_busy_ms_per_step']:.2f} ms busy), "
                 f"{measured['host_launches_per_step']:.0f} launches ({measured['graph_launches_per_step']:.0f} graphs), "
                 f"{measured['syncs_per_step']:.1f} syncs")  # fmt: skip
    return line + " a step"


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.profile_step")
