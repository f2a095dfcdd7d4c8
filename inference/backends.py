"""A finished run's classifier behind one backend: PyTorch eager on the run folder, or ONNX Runtime on its export
(fp32, or int8 dynamically quantized). Reviews in, logits out; tokenized and cut like training."""

import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from modeling import label_names
from run_folder import InferenceError

from .runs import ONNX_FILES, model_folder

PROGRESS_FROM = 10  # batches: a progress bar on inputs at least this long

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]  # tokenizer features → logits


def forward_inputs(model, features: dict) -> dict:
    """The features `model.forward` takes: a tokenizer may emit more (BERT's token_type_ids for a DistilBERT), which
    the Trainer drops from the training data by the same signature (`remove_unused_columns`)."""
    accepted = inspect.signature(model.forward).parameters
    return {name: value for name, value in features.items() if name in accepted}


def torch_runner(folder: Path, threads: int | None = None) -> Runner:
    """The model in eager mode, fp32, on `threads` threads (default: torch's, one per core)."""
    model = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True, dtype=torch.float32)
    model.eval()
    threads = threads or torch.get_num_threads()

    def run(features):
        torch.set_num_threads(threads)  # a process-wide setting: another runner may have changed it
        with torch.inference_mode():
            tensors = {name: torch.from_numpy(array) for name, array in forward_inputs(model, features).items()}
            return model(**tensors).logits.numpy()

    return run


def onnx_runner(path: Path, threads: int | None = None, graph_optimizations: bool = True) -> Runner:
    """An ONNX Runtime CPU session; ORT applies every graph optimization (fusions, constant folding) when it loads,
    unless `graph_optimizations` is off; `threads` intra-op threads (default: one per physical core)."""
    try:
        import onnxruntime
    except ImportError:
        raise InferenceError(
            "onnxruntime is not installed; install the onnx extra: pip install -e '.[onnx]' (make install-onnx)"
        ) from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0
    if not graph_optimizations:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = [node.name for node in session.get_inputs()]

    def run(features):
        return session.run(["logits"], {name: features[name] for name in inputs})[0]

    return run


class Classifier:
    """The run's tokenizer, label names and model behind `backend` ("torch", "onnx" or "onnx-int8").

    Reviews longer than the run's training `max_length` (saved as the tokenizer's `model_max_length`) are cut to
    it, as in training. `threads`, `graph_optimizations` and `max_length` (another cut: runs timed on the same
    inputs) are the benchmarks' levers; the defaults serve.
    """

    def __init__(self, run: Path, backend: str, threads: int | None = None, graph_optimizations: bool = True,
                 max_length: int | None = None):  # fmt: skip
        folder = model_folder(run, backend)
        self.backend = backend
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        config = AutoConfig.from_pretrained(folder)
        self.label_names = label_names(config)
        self.max_length = min(max_length or self.tokenizer.model_max_length, config.max_position_embeddings)
        if backend == "torch":
            self.run = torch_runner(folder, threads)
        else:
            self.run = onnx_runner(folder / ONNX_FILES[backend], threads, graph_optimizations)

    def logits(
        self, reviews: list[str], batch_size: int = 32, sort_by_length: bool = True, progress: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(logits in input order, whether each review was cut to `max_length`). Batches are padded to their longest
        review; with `sort_by_length`, batches hold reviews of similar length (less padding), results in input
        order all the same. With `progress`, a progress bar shows on long inputs."""
        encoded = self.tokenizer(reviews, truncation=True, max_length=self.max_length)
        truncated = np.array([bool(encoding.overflowing) for encoding in encoded.encodings])
        order = np.arange(len(reviews))
        if sort_by_length:
            order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        logits = np.empty((len(reviews), len(self.label_names)), dtype=np.float32)
        shown = progress and len(batches) >= PROGRESS_FROM
        for batch in tqdm(batches, desc=f"Predicting ({self.backend})", unit="batch", disable=not shown):
            rows = {name: [encoded[name][i] for i in batch] for name in encoded}
            logits[batch] = self.run(dict(self.tokenizer.pad(rows, return_tensors="np")))
        return logits, truncated
