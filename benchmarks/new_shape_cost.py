"""What a batch of a new length costs the first time, per attention backend: why the GPU recipe pads to 80.

    python -m benchmarks.new_shape_cost --model PATH          # on a CUDA GPU (bf16 autocast, as gpu_mode sets)

One training step (forward and backward, batch 32) at each of 18 lengths, then the same lengths again; each group
of backends gets lengths it has not seen. Backends as `torch.nn.attention.sdpa_kernel` names them; on a CPU the
backend choice hardly matters and the steps run in fp32.
"""

import argparse
import time

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from errors import exit_in_one_line
from sst_data import LABEL_NAMES
from training import load_model_and_tokenizer

ALL = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
GROUPS = {"warm-up (every backend)": ALL, "every backend (the default)": ALL, "without cuDNN": ALL[1:], "math only": ALL[3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Local model folder.")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    model, _ = load_model_and_tokenizer(args.model, LABEL_NAMES)
    model.to(args.device)
    labels = torch.zeros(32, dtype=torch.long, device=args.device)

    def step(length: int, backends) -> float:
        ids = torch.randint(1000, 20000, (32, length), device=args.device)
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with sdpa_kernel(backends), torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.device == "cuda"):
            model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss.backward()
        if args.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for offset, (name, backends) in enumerate(GROUPS.items()):
        lengths = range(12 + offset, 84, 4)  # 18 lengths no earlier group used
        first, again = (sum(step(n, backends) for n in lengths) for _ in range(2))
        print(f"{name}: {len(lengths)} new lengths, first use {first:.2f} s, again {again:.2f} s", flush=True)


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.new_shape_cost")
