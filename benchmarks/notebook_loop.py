"""The reference notebook's training loop, ported faithfully to current libraries: the benchmark's yardstick.

Pad to 80, fp32, `torch.optim.AdamW(lr=2e-5, eps=1e-8)` (the notebook's `transformers.AdamW` is gone),
linear schedule without warmup, clip 1.0, batch 32 in random order, `loss.item()` every step, and
validation after each epoch. Only its accuracy is exact (the notebook averaged per-batch accuracies).

    python -m benchmarks.notebook_loop --model PATH --data_dir D --json stats.json   # the whole run, as a command
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset
from transformers import get_linear_schedule_with_warmup, set_seed

from errors import exit_in_one_line
from sst_data import LABEL_NAMES, DataSource, load_data, notebook_sample, notebook_split, tokenize_reviews
from training import load_model_and_tokenizer, parse_args


def padded_tensors(dataset, max_length: int) -> TensorDataset:
    """The notebook's `TensorDataset(input_ids, attention_masks, labels)`, every row padded to `max_length`."""
    ids = np.zeros((len(dataset), max_length), dtype=np.int64)
    for row, encoded in enumerate(dataset["input_ids"]):
        ids[row, : len(encoded)] = encoded
    ids = torch.from_numpy(ids)
    return TensorDataset(ids, (ids != 0).long(), torch.tensor(list(dataset["label"])))


def notebook_optimizer(model, steps: int):
    """The notebook's AdamW and linear schedule without warmup over `steps` steps."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, eps=1e-8, weight_decay=0.0)
    return optimizer, get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=steps)


def notebook_step(model, batch, optimizer, scheduler, device) -> float:
    """One training step as the notebook wrote it: to the device, forward, `loss.item()`, backward, clip, update."""
    input_ids, attention_mask, labels = (tensor.to(device) for tensor in batch)
    model.zero_grad()
    loss = model(input_ids, attention_mask=attention_mask, labels=labels).loss
    total = loss.item()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return total


def train_notebook_loop(
    model, train_set: TensorDataset, validation_set: TensorDataset, epochs: int, device
) -> list[dict]:
    """Train like the notebook; return per epoch: training/validation seconds and loss, exact accuracy."""
    model.to(device)
    train_loader = DataLoader(train_set, sampler=RandomSampler(train_set), batch_size=32)
    validation_loader = DataLoader(validation_set, sampler=SequentialSampler(validation_set), batch_size=32)
    optimizer, scheduler = notebook_optimizer(model, len(train_loader) * epochs)
    stats = []
    for _ in range(epochs):
        start = time.perf_counter()
        total_train_loss = 0.0
        model.train()
        for batch in train_loader:
            total_train_loss += notebook_step(model, batch, optimizer, scheduler, device)
        training_time = time.perf_counter() - start

        start = time.perf_counter()
        model.eval()
        total_eval_loss, correct = 0.0, 0
        for input_ids, attention_mask, labels in validation_loader:
            input_ids, attention_mask, labels = input_ids.to(device), attention_mask.to(device), labels.to(device)
            with torch.no_grad():
                output = model(input_ids, attention_mask=attention_mask, labels=labels)
            total_eval_loss += output.loss.item()
            correct += (output.logits.argmax(-1) == labels).sum().item()
        stats.append(
            {
                "training_loss": total_train_loss / len(train_loader),
                "validation_loss": total_eval_loss / len(validation_loader),
                "accuracy": correct / len(validation_set),
                "training_time": training_time,
                "validation_time": time.perf_counter() - start,
            }
        )
    return stats


def notebook_data(data_dir, fraction=None, seed=None):
    """The notebook recipe's data and training settings (`fraction`, when given, as the sample fraction), and its split
    of train.tsv (`seed`, or the recipe's split seed)."""
    overrides = ["--sample_fraction", str(fraction)] if fraction is not None else []
    _, data, training = parse_args(["--data_dir", str(data_dir), *overrides])
    sample = notebook_sample(load_data(DataSource(data_dir=str(data_dir))).splits["train"], data.sample_fraction, data.sample_seed)
    return data, training, notebook_split(sample, data.validation_fraction, data.split_seed if seed is None else seed)


def main() -> None:
    """The loop as one command: data, tokenization and model (timed as `setup_s`), then training; stats to --json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Local model folder.")
    parser.add_argument("--data_dir", type=Path, required=True, help="Folder holding train.tsv.")
    parser.add_argument("--sample_fraction", type=float, help="Default: the notebook recipe's.")
    parser.add_argument("--epochs", type=int, help="Default: the notebook recipe's.")
    parser.add_argument("--seed", type=int, help="The split, the head's initialisation and the batch order "
                        "(default: the recipe's seeds).")  # fmt: skip
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--json", type=Path, required=True, help="Where the per-epoch stats go.")
    args = parser.parse_args()
    start = time.perf_counter()
    data, training, split = notebook_data(args.data_dir, args.sample_fraction, args.seed)
    set_seed(training.seed if args.seed is None else args.seed)
    model, tokenizer = load_model_and_tokenizer(args.model, LABEL_NAMES)
    train_set, validation_set = (
        padded_tensors(tokenize_reviews(split[s], tokenizer, data.max_length), data.max_length)
        for s in ("train", "validation")
    )
    setup_s = time.perf_counter() - start
    epoch_count = args.epochs or int(training.num_train_epochs)
    epochs = train_notebook_loop(model, train_set, validation_set, epoch_count, args.device)
    args.json.write_text(json.dumps({"setup_s": setup_s, "epochs": epochs}, indent=2))


if __name__ == "__main__":
    exit_in_one_line(main, "python -m benchmarks.notebook_loop")
