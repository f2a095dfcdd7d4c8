#!/usr/bin/env bash
# The GPU check in one call (issue 13), for the workplace's device machine, whose image lacks datasets, evaluate and
# httpx2. Here, first (project virtualenv active):
#     ../shared/device/pack.sh && pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
#         --platform manylinux2014_x86_64 -d .device-carry/wheels httpx2==2.16.2 httpcore2==2.16.2 truststore==0.10.5
# then run, with .device-carry carried (under 10 minutes; the last measured runs are in docs/lab-notes.md, "GPU"):
#     bash benchmarks/gpu.sh "$OUT"     # a try on a CPU: bash benchmarks/gpu.sh OUT --quick --device cpu --model M --contenders loop
# Each step under its own time limit (the two fill a 10-minute call), every log kept in OUT:
#   1. time: DistilBERT-base shape, random weights: the notebook loop, the notebook and fast-gpu recipes, and
#      fast-cudagraphs (CUDA graphs without Inductor, static shapes since it failed on the H100 with dynamic ones);
#   2. accuracy: all-MiniLM-L6-v2, the loop and fast-gpu, seeds 42 43 44.
# Measured and settled, left out to fit the call: the fast recipe (its varying lengths cost a GPU 2-3x, measured
# three times), fast-graphs (Inductor's compilation) and benchmarks/new_shape_cost.py (why fast-gpu pads to 80).
set -uo pipefail
out=${1:?usage: benchmarks/gpu.sh OUT [bench.py flags]}; shift
carry=.device-carry
mkdir -p "$out"
python3 -c "import datasets, evaluate" 2>/dev/null ||  # the device image lacks them (a CPU try has them)
    python3 -m pip install -q --no-index --no-deps --upgrade --target /tmp/site $carry/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    python3 -c "import sys, torch, transformers, datasets, accelerate; print(sys.version.split()[0], 'torch', torch.__version__,
'transformers', transformers.__version__, 'datasets', datasets.__version__, 'accelerate', accelerate.__version__)"
} 2>&1 | tee "$out/machine.txt"
bench() {  # name, seconds, bench.py flags
    local name=$1 limit=$2; shift 2
    timeout "$limit" python3 -m benchmarks.bench --data_dir $carry/data/sst2 --json "$out/$name.json" "$@" 2>&1 | tee "$out/$name.log"
}
bench distilbert 240 --model distilbert-base-random --tokenizer $carry/minilm \
    --contenders loop notebook fast-gpu fast-cudagraphs "$@"
bench minilm 300 --model $carry/minilm --seeds 42 43 44 --contenders loop fast-gpu "$@"
