"""What a seed study costs beyond its runs: `run_seeds.py` over N seeds against the same N runs of `run_finetune.py`
launched one by one, side by side on the same model, recipe and data.

    python -m benchmarks.bench_seeds --model PATH --data_dir ../shared/data/sst2          # 3 seeds, 1 epoch on 20%
    python -m benchmarks.bench_seeds --model PATH --data_dir D --recipe recipes/fast.yaml --epochs 4 --sample_fraction 0.5

Each side starts from its own empty `datasets` cache, so both pay the first reading and tokenization. The study
pays the interpreter, imports and data loading once; the separate runs pay them once each.
"""

import argparse
import json
import tempfile
from pathlib import Path

import torch

from errors import exit_in_one_line

from .bench import ROOT, matmul_gflops, run_command


def in_run_seconds(run_dir: Path) -> float:
    """The seconds a run spent on its own work once started: setup, training with validation, final evaluations."""
    results = json.loads((run_dir / "all_results.json").read_text())
    return sum(v for k, v in results.items() if k.endswith("_runtime"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Local model folder.")
    parser.add_argument("--data_dir", type=Path, required=True, help="Folder holding train.tsv (and dev.tsv).")
    parser.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "notebook.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sample_fraction", type=float, default=0.2)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="sst2-bench-seeds-"))
    common = ["--config", str(args.recipe), "--model_name_or_path", args.model, "--data_dir", str(args.data_dir),
              "--num_train_epochs", str(args.epochs), "--sample_fraction", str(args.sample_fraction),
              "--disable_tqdm", "true"]  # fmt: skip
    gflops = matmul_gflops("cpu")
    study = run_command("run_seeds", ["--seeds", *map(str, args.seeds), "--output_dir", str(scratch / "study"), *common],
                        scratch, "study", env={"HF_DATASETS_CACHE": str(scratch / "cache-study")})  # fmt: skip
    study["in_run"] = sum(in_run_seconds(scratch / "study" / f"seed-{seed}") for seed in args.seeds)
    singles = []
    for seed in args.seeds:
        seeds = [x for flag in ("--seed", "--split_seed", "--data_seed") for x in (flag, str(seed))]
        run_dir = scratch / "single" / f"seed-{seed}"
        single = run_command("run_finetune", [*common, *seeds, "--output_dir", str(run_dir)], scratch, f"single-{seed}",
                             env={"HF_DATASETS_CACHE": str(scratch / "cache-single")})  # fmt: skip
        singles.append(single | {"in_run": in_run_seconds(run_dir)})
    separate = {key: sum(run[key] for run in singles) for key in ("wall", "imports", "in_run")}

    n = len(args.seeds)
    print(f"\n{n} seeds {args.seeds}, {args.recipe.name}, {args.epochs} epoch(s) on {args.sample_fraction:.0%} of "
          f"train.tsv; {torch.get_num_threads()} threads; fp32 matmul rate measured now: {gflops:.0f} GFLOP/s\n")  # fmt: skip
    print(
        "| | wall s | imports s | the runs' own work s | the rest s | per seed beyond its own work s | wall vs separate |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, side in ((f"study (run_seeds.py, {n} seeds)", study), (f"{n} separate run_finetune.py", separate)):
        rest = side["wall"] - side["in_run"]
        print(f"| {name} | {side['wall']:.1f} | {side['imports']:.1f} | {side['in_run']:.1f} | {rest:.1f} "
              f"| {rest / n:.1f} | {side['wall'] / separate['wall']:.2f}× |")  # fmt: skip


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.bench_seeds")
