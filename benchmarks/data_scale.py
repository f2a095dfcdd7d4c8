"""How the data layer scales: a synthetic CSV of a million labelled rows (made here, never committed) prepared as a run
prepares its data (read into the Arrow cache, every row checked, labels turned into ids), then loaded again from the
cache; each in a fresh process, timed around the load alone, with the process's peak resident memory.

    python -m benchmarks.data_scale                        # 1,000,000 rows; the result into benchmarks/results/
    python -m benchmarks.data_scale --rows 20000 --output /tmp/scale.json
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from errors import ProjectError, exit_in_one_line

from . import results

WORDS = ["a", "gorgeous", "witty", "seductive", "movie", "dull", "witless", "mess", "the", "plot", "is", "nothing", "but", "boilerplate", "cliches", "from", "start", "to", "finish", "it", "'s", "a", "charming", "and", "often", "affecting", "journey", "unflinchingly", "bleak", "and", "desperate"]  # fmt: skip
LABELS = ("negative", "neutral", "positive")
# Run in a fresh process: the seconds of the load alone, and the peak resident memory of the whole process.
MEASURE = """
import json, resource, sys, time
from sst_data import DataSource, load_data
start = time.perf_counter()
data = load_data(DataSource(train_file=sys.argv[1], text_column="text", label_column="label"), cache_dir=sys.argv[2])
seconds = time.perf_counter() - start
assert len(data.splits["train"]) == int(sys.argv[3]) and len(data.label_names) == 3
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    """`rows` rows of 8 to 40 words and one of three labels, seeded."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write("text,label\n")
        f.writelines(f"{' '.join(rng.choices(WORDS, k=rng.randint(8, 40)))},{rng.choice(LABELS)}\n" for _ in range(rows))


def measure(csv: Path, cache: Path, rows: int) -> dict:
    command = [sys.executable, "-c", MEASURE, str(csv), str(cache), str(rows)]
    done = subprocess.run(command, check=False, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"})  # fmt: skip
    if done.returncode:
        raise ProjectError(f"the load of {csv} failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--output", type=Path, help="Where the result goes (default: benchmarks/results/DATE-data-scale.json).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        csv, cache = Path(folder) / "train.csv", Path(folder) / "cache"
        write_csv(csv, args.rows)
        prepared = measure(csv, cache, args.rows)
        cached = measure(csv, cache, args.rows)
        size_mb = csv.stat().st_size / 2**20
    result = {"kind": "data-scale", "date": results.today(), **results.machine("cpu"), "model": None,
              "command": f"python -m benchmarks.data_scale --rows {args.rows}", "source": "benchmarks/data_scale.py",
              "note": f"a synthetic CSV of {size_mb:.0f} MB; each load in a fresh process, timed around load_data",
              "rows": args.rows, "prepare_s": round(prepared["seconds"], 2), "cached_load_s": round(cached["seconds"], 2),
              "peak_rss_mb": round(max(prepared["peak_rss_mb"], cached["peak_rss_mb"]))}  # fmt: skip
    path = results.write(result, args.output or results.RESULTS_DIR / f"{result['date']}-data-scale.json")
    print(f"{args.rows:,} rows ({size_mb:.0f} MB CSV): prepared in {result['prepare_s']} s, from the cache in "
          f"{result['cached_load_s']} s, peak memory {result['peak_rss_mb']} MB; {path}")


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.data_scale")
