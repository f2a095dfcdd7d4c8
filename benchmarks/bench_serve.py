"""The server under load: closed-loop HTTP clients on localhost against `python -m serving`, per backend and number of
clients, beside the same backend's in-process batch-1 latency measured in the same run.

    python -m benchmarks.bench_serve --output_dir outputs/minilm          # make bench-serve OUTPUT_DIR=outputs/minilm
    python -m benchmarks.bench_serve --output_dir RUN --backends onnx-int8 --concurrency 1 16 --duration 5

Load: wrk (Debian's `wrk`), one thread, C connections each sending its next request as soon as the last is answered,
for --duration seconds per step; each request is {"inputs": one review of --file} (the official dev split by default),
the reviews taken in turn. The server runs as `make serve` runs it, one process per backend, stopped with SIGTERM
(exit 0 expected) after its steps. The results go to benchmarks/results/ (benchmarks/results.py's "http" kind), from
which `python -m benchmarks.tables` generates docs/serving.md's table. Client and server share this machine's cores.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

import numpy as np

from errors import ProjectError, exit_in_one_line, parse_flags
from inference import Classifier
from inference.export import export_if_missing
from inference.runs import ONNX_FILES
from run_folder import check_finished_run
from serving.__main__ import PROG as SERVE_PROG
from serving.__main__ import ServeArguments
from sst_data import read_input

from . import results
from .bench import ROOT, matmul_gflops
from .bench_predict import cpu_name

PROG = "python -m benchmarks.bench_serve"
LISTENING = re.compile(r"^Serving .* on http://([\d.]+):(\d+):", re.MULTILINE)
RESULT = "wrk-result "
IN_PROCESS = 300  # reviews timed in process
# wrk's script: the bodies (one JSON request a line) taken in turn; at the end one JSON line of counts and latency
# percentiles (microseconds).
WRK_SCRIPT = """
local bodies, i = {}, 0
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
wrk.method, wrk.path, wrk.headers["Content-Type"] = "POST", "/predict", "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n', "RESULT", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
""".replace("RESULT", RESULT)


def in_process_p50_ms(run: Path, backend: str, reviews: list[str], threads: int | None) -> dict:
    """Batch-1 latency in this process on `threads` threads, as the server's workers run (tokenization included, as
    `make bench-predict` times it; the first IN_PROCESS reviews: PyTorch's batch 1 is slow on a busy machine)."""
    reviews = reviews[:IN_PROCESS]
    classifier = Classifier(run, backend, threads)
    classifier.logits(reviews[:8], 1, progress=False)  # warm-up
    times = []
    for review in reviews:
        start = time.perf_counter()
        classifier.logits([review], 1, progress=False)
        times.append(time.perf_counter() - start)
    times_ms = np.array(times) * 1000
    return {"batch1_p50_ms": float(np.percentile(times_ms, 50)), "batch1_p95_ms": float(np.percentile(times_ms, 95))}


def start_server(run: Path, backend: str, flags: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """`python -m serving` on a free port; (the process, its URL) once /health answers."""
    command = [sys.executable, "-m", "serving", "--output_dir", str(run), "--backend", backend, "--port", "0", *flags]
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        found = LISTENING.search(log.read_text())
        if found:
            url = f"http://{found[1]}:{found[2]}"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    return server, url
            except OSError:
                pass
        time.sleep(0.2)
    server.kill()
    raise ProjectError(f"the {backend} server did not start; its log: {log}: {log.read_text()[-500:]}")


def stop_server(server: subprocess.Popen, backend: str) -> None:
    server.send_signal(signal.SIGTERM)
    if server.wait(timeout=60) != 0:
        raise ProjectError(f"the {backend} server exited with {server.returncode} on SIGTERM, not 0")


def load(url: str, clients: int, seconds: float, script: Path, bodies: Path) -> dict:
    """One closed-loop step of wrk: `clients` connections for `seconds`."""
    command = ["wrk", "--threads", "1", "--connections", str(clients), "--duration", f"{seconds:g}s", "--timeout", "10s",
               "--script", str(script), url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "BODIES": str(bodies)}, check=False)
    line = next((line for line in done.stdout.splitlines() if line.startswith(RESULT)), None)
    if done.returncode != 0 or line is None:
        raise ProjectError(f"wrk failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}")
    measured = json.loads(line.removeprefix(RESULT))
    return {"concurrency": clients, "requests_per_s": measured["requests"] / (measured["duration_us"] / 1e6),
            **{f"p{p}_ms": measured[f"p{p}_us"] / 1000 for p in (50, 95, 99)},
            "errors": measured["socket_errors"] + measured["status_errors"], "requests": measured["requests"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", type=Path, required=True, help="A finished run (exported first if need be).")
    parser.add_argument("--file", default=str(ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv"),
                        help="The reviews the clients send (a file make predict reads).")  # fmt: skip
    parser.add_argument("--backends", nargs="+", default=["onnx-int8", "torch"], choices=["torch", *ONNX_FILES])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 16, 64], help="Clients, one step each.")
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds of load per step.")
    parser.add_argument("--json", type=Path, help="Where the result goes (default: benchmarks/results/DATE-N-cpu-serve.json).")
    parser.add_argument("--serve_args", default="", help='Flags for the server, e.g. "--workers 1" (default: none).')
    parser.add_argument("--note", help="What the result should say of the conditions (a shared machine, ...).")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise ProjectError("wrk is not installed; install Debian's package: apt-get install wrk")
    run = check_finished_run(args.output_dir)
    if any(b != "torch" for b in args.backends):
        export_if_missing(run)
    reviews = read_input(args.file).texts
    serve_args = parse_flags(ServeArguments, ["--output_dir", str(run), *shlex.split(args.serve_args)], SERVE_PROG, "")
    threads = 1 if serve_args.workers > 1 else None  # as the server runs each worker's model
    gflops = matmul_gflops("cpu")
    print(f"{cpu_name()}, {os.cpu_count()} cores; fp32 matmul {gflops:.0f} GFLOP/s (1024³, torch); {len(reviews)} reviews "
          f"of {args.file}; {args.duration:g} s a step", flush=True)  # fmt: skip

    rows, in_process = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        script, bodies = Path(scratch) / "predict.lua", Path(scratch) / "bodies.jsonl"
        script.write_text(WRK_SCRIPT)
        bodies.write_text("".join(json.dumps({"inputs": review}) + "\n" for review in reviews))
        for backend in args.backends:
            in_process[backend] = in_process_p50_ms(run, backend, reviews, threads)
            print(f"[bench] {backend}: in-process batch-1 p50 {in_process[backend]['batch1_p50_ms']:.2f} ms", flush=True)
            server, url = start_server(run, backend, shlex.split(args.serve_args), Path(scratch) / f"{backend}.log")
            try:
                load(url, max(args.concurrency), min(args.duration, 3), script, bodies)  # warm-up, not kept
                for clients in args.concurrency:
                    row = {"backend": backend, **load(url, clients, args.duration, script, bodies)}
                    rows.append(row)
                    print(f"[bench] {backend}, {clients} clients: {row['requests_per_s']:.1f} requests/s, p50 "
                          f"{row['p50_ms']:.1f} / p95 {row['p95_ms']:.1f} / p99 {row['p99_ms']:.1f} ms, "
                          f"{row['errors']} errors", flush=True)  # fmt: skip
            finally:
                stop_server(server, backend)

    print("\n| backend | clients | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['backend']} | {row['concurrency']} | {row['requests_per_s']:.1f} | {row['p50_ms']:.1f} "
              f"| {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |")  # fmt: skip
    print(f"\nfp32 matmul rate measured in this run: {gflops:.0f} GFLOP/s")
    document = results.machine("cpu") | {
        "kind": "http", "date": results.today(), "device": f"cpu: {cpu_name()}, {os.cpu_count()} cores",
        "onnxruntime": version("onnxruntime"), "model": run.resolve().name,
        "command": shlex.join(["python", "-m", "benchmarks.bench_serve", *sys.argv[1:]]), "source": None,
        "note": args.note, "matmul_gflops": round(gflops), "reviews": len(reviews), "duration_s": args.duration,
        "serve_args": args.serve_args, "in_process_threads": threads, "in_process": in_process, "rows": rows,
    }  # fmt: skip
    path = args.json or results.next_path("cpu-serve")
    results.write(document, path)
    print(f"Results (JSON): {path}; python -m benchmarks.tables renders them into docs/serving.md")


if __name__ == "__main__":
    exit_in_one_line(main, PROG)
