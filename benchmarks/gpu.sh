#!/usr/bin/env bash
# The GPU check in one call (issue 23), for the workplace's device machine: one H100 or H200, no network, its own
# image, which lacks datasets, evaluate and httpx2 (../shared/device/README.md). Here, first (project virtualenv active):
#     ../shared/device/pack.sh && pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
#         --platform manylinux2014_x86_64 -d .device-carry/wheels httpx2==2.16.2 httpcore2==2.16.2 truststore==0.10.5
#   (.device-carry/: the datasets, evaluate and httpx2 wheels, SST-2's TSVs, all-MiniLM-L6-v2 in fp16)
# then run, with .device-carry carried (under 9 minutes: each step under its own time limit):
#     bash benchmarks/gpu.sh "$OUT"
# A try of the script itself on a CPU (the model given for both steps, CPU contenders in place of the GPU's):
#     bash benchmarks/gpu.sh OUT --quick --device cpu --model M --data_dir D
# What it leaves in OUT, 7 files in one folder (at most 8 come back from the device machine):
#   machine.txt            the card, driver and versions; then each step's exit status and seconds, as it ends
#   profile.json, .log     kernels, launches, synchronizations and host time per training step (benchmarks.profile_step):
#                          the loop, fast-gpu, fast-graphs, fast-cudagraphs                                  (120 s)
#   distilbert.json, .log  time, DistilBERT-base's shape with random weights, 4 epochs (benchmarks.bench): the loop,
#                          fast-gpu, fast-graphs (the graphed recipe), fast-cudagraphs (the cudagraphs backend, no
#                          Inductor), fast-graphs again (a second start on a warm machine)                 (210 s)
#   minilm.json, .log      accuracy, all-MiniLM-L6-v2, fast-graphs over seeds 42 43 44, against the loop's, which
#                          is deterministic and recorded (benchmarks/results/: equal on the H200 and H100)   (150 s)
# The JSON files are benchmarks/results.py's schema: copy them into benchmarks/results/ (named by date and card) and
# run `python -m benchmarks.tables` to regenerate docs/benchmarks.md's tables (docs/benchmarks.md, "Measuring").
set -uo pipefail
out=${1:?usage: benchmarks/gpu.sh OUT [--quick] [--device cpu|cuda] [--model M] [--data_dir D]}; shift
carry=.device-carry
device=cuda quick=() model= data=$carry/data/sst2
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=(--quick) ;;
        --device) device=$2; shift ;;
        --model) model=$2; shift ;;
        --data_dir) data=$2; shift ;;
        *) echo "benchmarks/gpu.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$out"
python3 -c "import datasets, evaluate, httpx2" 2>/dev/null ||  # the device image lacks them (a CPU try has them)
    python3 -m pip install -q --no-index --no-deps --upgrade --target /tmp/site $carry/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
if [ "$device" = cuda ]; then
    timing=(--model distilbert-base-random --tokenizer $carry/minilm --model_label distilbert-base-random)
    accuracy=(--model $carry/minilm --model_label all-MiniLM-L6-v2)
    profiled=(loop fast-gpu fast-graphs fast-cudagraphs)
    timed=(loop fast-gpu fast-graphs fast-cudagraphs fast-graphs)
    compared=(fast-graphs)
    steps=(--warmup 10 --steps 20)
else  # the GPU contenders refuse a CPU: their CPU forms stand in, to try the script
    timing=(--model "${model:?--device cpu needs --model}") accuracy=(--model "$model")
    profiled=(loop fast) timed=(loop fast) compared=(fast) steps=(--warmup 2 --steps 3)
fi
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
    python3 -c "import sys, torch, transformers, datasets, accelerate; print(sys.version.split()[0], 'torch', torch.__version__,
'transformers', transformers.__version__, 'datasets', datasets.__version__, 'accelerate', accelerate.__version__)"
    echo "device $device; contenders: profile ${profiled[*]}; time ${timed[*]}; accuracy ${compared[*]}"
} 2>&1 | tee "$out/machine.txt"
step() {  # name, seconds, module, its flags: run under the limit, output to OUT/name.log, status to machine.txt
    local name=$1 limit=$2 module=$3 started=$SECONDS; shift 3
    timeout --kill-after=10 "$limit" python3 -m "$module" --data_dir "$data" --device "$device" \
        --json "$out/$name.json" "$@" 2>&1 | tee "$out/$name.log"
    local status=${PIPESTATUS[0]}
    echo "step $name: exit $status after $((SECONDS - started)) s (limit $limit s)" | tee -a "$out/machine.txt"
}
step profile 120 benchmarks.profile_step "${timing[@]}" --contenders "${profiled[@]}" "${steps[@]}"
step distilbert 210 benchmarks.bench "${timing[@]}" --contenders "${timed[@]}" --rounds 1 "${quick[@]}"  # its budget
step minilm 150 benchmarks.bench "${accuracy[@]}" --contenders "${compared[@]}" --seeds 42 43 44 --rounds 1 "${quick[@]}"
echo "total: $SECONDS s" | tee -a "$out/machine.txt"
