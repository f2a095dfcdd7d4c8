"""The reference notebook's training loop, ported faithfully to current libraries: the benchmark's yardstick.

Pad to 80, fp32, `torch.optim.AdamW(lr=2e-5, eps=1e-8)` (the notebook's `transformers.AdamW` is gone),
linear schedule without warmup, clip 1.0, batch 32 in random order, `loss.item()` every step, and
validation after each epoch. Only its accuracy is exact (the notebook averaged per-batch accuracies).
"""

import time

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset
from transformers import get_linear_schedule_with_warmup


def padded_tensors(dataset, max_length: int) -> TensorDataset:
    """The notebook's `TensorDataset(input_ids, attention_masks, labels)`, every row padded to `max_length`."""
    ids = np.zeros((len(dataset), max_length), dtype=np.int64)
    for row, encoded in enumerate(dataset["input_ids"]):
        ids[row, : len(encoded)] = encoded
    ids = torch.from_numpy(ids)
    return TensorDataset(ids, (ids != 0).long(), torch.tensor(list(dataset["label"])))


def train_notebook_loop(model, train_set: TensorDataset, validation_set: TensorDataset, epochs: int, device) -> list[dict]:
    """Train like the notebook; return per epoch: training/validation seconds and loss, exact accuracy."""
    model.to(device)
    train_loader = DataLoader(train_set, sampler=RandomSampler(train_set), batch_size=32)
    validation_loader = DataLoader(validation_set, sampler=SequentialSampler(validation_set), batch_size=32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, eps=1e-8, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=len(train_loader) * epochs)
    stats = []
    for _ in range(epochs):
        start = time.perf_counter()
        total_train_loss = 0.0
        model.train()
        for input_ids, attention_mask, labels in train_loader:
            input_ids, attention_mask, labels = input_ids.to(device), attention_mask.to(device), labels.to(device)
            model.zero_grad()
            loss = model(input_ids, attention_mask=attention_mask, labels=labels).loss
            total_train_loss += loss.item()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
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
