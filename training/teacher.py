"""A student's teacher: a finished run folder, checked before the student's run starts, and its logits over the
texts a student learns from, computed once with the teacher's own tokenizer and cached beside the teacher run, so
that a second student (another seed, alpha or T, a resumed run) never loads the teacher again."""

import json
import logging
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding

from errors import ProjectError
from modeling import label_names
from run_folder import SETTINGS_FILE, InferenceError, check_finished_run, read_settings, write_atomic
from run_folder.settings import model_identity, settings_differences
from sst_data import source_fingerprint

logger = logging.getLogger(__name__)
CACHE_FOLDER = "teacher_logits"  # in the teacher's run folder: one JSON file per max length
BATCH_SIZE = 64
# What decides which rows a run trains on and which it is scored on.
SPLIT_SETTINGS = ("sample_fraction", "sample_seed", "validation_fraction", "split_seed", "validation_split", "text_column",
                  "label_column")  # fmt: skip


def check_teacher(folder: str) -> Path:
    """The teacher's run folder, if it holds a finished run with its model; else one line naming --teacher."""
    try:
        return check_finished_run(Path(folder), then="distil from it")
    except InferenceError as err:
        raise ProjectError(f"--teacher {err}") from None


def check_labels(folder: str, student_labels: list[str]) -> None:
    """The teacher's labels (its config's id2label, in id order) must be the student's data's label set, names and
    order: its logits are read by index."""
    teacher_labels = label_names(AutoConfig.from_pretrained(folder))
    if teacher_labels != list(student_labels):
        raise ProjectError(f"--teacher {folder}: its labels {teacher_labels} are not the student's {list(student_labels)} "
                           "(names and order); distil from a teacher trained on the same label set")  # fmt: skip


def check_same_split(folder: str, data_args) -> None:
    """The teacher must have trained on the student's data, sampled and split alike: a teacher that trained on the
    student's validation rows would pass their labels on through its logits."""
    recorded = read_settings(Path(folder) / SETTINGS_FILE)
    current = {"data_sha256": source_fingerprint(data_args)} | {key: getattr(data_args, key) for key in SPLIT_SETTINGS}
    if differences := settings_differences({key: recorded.get(key) for key in current}, current):
        raise ProjectError(f"--teacher {folder}: trained on other rows than the student's ({', '.join(differences)}), "
                           "maybe on the student's validation rows; distil from a teacher run with the student's data "
                           "settings")  # fmt: skip


def cache_path(folder: str) -> Path:
    """The cache of the teacher's logits at the length it was trained with (its saved tokenizer's model_max_length)."""
    max_length = AutoTokenizer.from_pretrained(folder).model_max_length
    return Path(folder) / CACHE_FOLDER / f"max_length-{max_length}.json"


def read_cache(path: Path, identity: str) -> dict[str, list[float]]:
    """The cached logits by text, when `path` was written by this teacher (its model files' sha256); else none."""
    if not path.is_file():
        return {}
    cache = json.loads(path.read_text(encoding="utf-8"))
    if cache["teacher_sha256"] != identity:
        logger.info("%s: written by another teacher model (retrained in place); its logits are computed again", path)
        return {}
    return cache["logits"]


@torch.no_grad()
def compute_logits(folder: str, texts: list[str], device) -> list[list[float]]:
    """The teacher's logits over `texts`: its own tokenizer, cut at its own max length, in fp32, in eval mode, in
    batches of similar length (padding changes logits only by float rounding: the mask hides the padded positions)."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32, use_safetensors=True)
    model.to(device).eval()
    encoded = tokenizer(texts, truncation=True, max_length=tokenizer.model_max_length)
    order = sorted(range(len(texts)), key=lambda i: len(encoded["input_ids"][i]))
    rows = [{key: values[i] for key, values in encoded.items()} for i in order]
    logits = [None] * len(texts)
    loader = DataLoader(rows, batch_size=BATCH_SIZE, collate_fn=DataCollatorWithPadding(tokenizer))
    for start, batch in zip(range(0, len(rows), BATCH_SIZE), loader, strict=True):
        output = model(**batch.to(device)).logits.float().cpu().tolist()
        for i, row in zip(order[start : start + BATCH_SIZE], output, strict=True):
            logits[i] = row
    return logits


def teacher_logits(folder: str, texts: list[str], device) -> list[list[float]]:
    """The teacher's logits over `texts`, from its cache where it holds them; the others are computed with the
    teacher and added to the cache (rewritten atomically), which the log says."""
    path = cache_path(folder)
    identity = model_identity(folder)["model_sha256"]
    cached = read_cache(path, identity)
    missing = sorted({text for text in texts if text not in cached})
    logger.info("Teacher logits: %d of %d texts reused from %s; %d to compute with the teacher",
                len(set(texts)) - len(missing), len(set(texts)), path, len(missing))  # fmt: skip
    if missing:
        cached = cached | dict(zip(missing, compute_logits(folder, missing, device), strict=True))
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, json.dumps({"teacher_sha256": identity, "computed_with": "PyTorch, fp32", "logits": cached}))
    return [cached[text] for text in texts]
