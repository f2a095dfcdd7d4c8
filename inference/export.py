"""Export a finished run for CPU serving: OUTPUT_DIR/onnx/ gets the model in ONNX (model.onnx, fp32), its int8
dynamically quantized variant (model_quantized.onnx), the config and the tokenizer; the run's model card says how to
load them.

    python -m inference.export --output_dir outputs/notebook          # make export OUTPUT_DIR=outputs/notebook

Optimum cannot do this with the project's transformers 5 (optimum-onnx requires transformers < 4.58), so the model
goes through torch.onnx's own exporter (dynamo, torch's default) and onnxruntime's `quantize_dynamic`.
"""

import logging
import os
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from errors import exit_in_one_line, parse_flags
from modeling import label_names
from run_folder import CARD_INPUTS, InferenceError, check_can_write, check_finished_run
from training_report import write_model_card

from .backends import forward_inputs, onnx_runner
from .runs import ONNX_FILES, ONNX_FOLDER, model_files

PROG = "python -m inference.export"
# Traced on two reviews of different lengths, so that batch and sequence stay dynamic; then checked on them.
EXAMPLES = ["a gorgeous, witty, seductive movie.", "the plot is nothing but boilerplate clichés from start to finish"]
TOLERANCE = 1e-4  # max |logit difference| allowed between ONNX Runtime (fp32) and PyTorch on the examples


@dataclass
class ExportArguments:
    output_dir: str = field(metadata={"help": "The finished run to export (run_finetune.py's --output_dir)."})


@contextmanager
def quiet_loggers(*names: str):
    """Only errors from these loggers while the block runs."""
    loggers = [logging.getLogger(None if name == "root" else name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export_fp32(model, tokenizer, path: Path) -> None:
    """The model as one ONNX file (weights inside), inputs named as the tokenizer names them, batch and sequence
    length dynamic, output `logits`."""
    features = forward_inputs(model, tokenizer(EXAMPLES, padding=True, truncation=True, return_tensors="pt"))
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    # Noise that says nothing about this model: torchvision's ops not registered, torch-internal deprecations,
    # and that every input shares the batch and sequence dimensions.
    with quiet_loggers("torch.onnx"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r".*axis name: \w+ will not be used")
        torch.onnx.export(
            model,
            kwargs=features,
            f=str(path),
            dynamo=True,
            external_data=False,
            input_names=list(features),
            output_names=["logits"],
            dynamic_shapes={name: {0: batch, 1: sequence} for name in features},
            verbose=False,
        )


def quantize_int8(fp32: Path, int8: Path) -> None:
    """Dynamic quantization: int8 weights for every MatMul, one scale per output channel, activations quantized at
    run time. The embeddings stay fp32: quantizing their table too saves 34 MB but no time, and cost 1.2 points of
    dev accuracy on the notebook recipe's MiniLM, as one scale per tensor did (docs/lab-notes.md)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Its advice to pre-process first (symbolic shape inference) fails on the dynamo exporter's graph: not taken.
    with quiet_loggers("root"):
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])


def largest_difference(model, tokenizer, path: Path) -> float:
    """max |logit difference| between ONNX Runtime on `path` and PyTorch, on the examples."""
    features = tokenizer(EXAMPLES, padding=True, truncation=True, return_tensors="np")
    with torch.inference_mode():
        tensors = {name: torch.from_numpy(array) for name, array in forward_inputs(model, features).items()}
        expected = model(**tensors).logits.numpy()
    return float(np.abs(onnx_runner(path)(dict(features)) - expected).max())


def export_run(run: Path) -> Path:
    """Write `run`/onnx/; it appears whole or not at all (built beside it, checked, then renamed into place)."""
    run = check_finished_run(run, then="export")
    check_can_write(run / ONNX_FOLDER, "--output_dir")
    if not (run / CARD_INPUTS).is_file():
        raise InferenceError(f"{run}: finished by an older version of the suite (no {CARD_INPUTS}), whose card cannot "
                             "be given the export's section; train the run again with this version, then export")  # fmt: skip
    model = AutoModelForSequenceClassification.from_pretrained(run, use_safetensors=True, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(run)
    target = run / ONNX_FOLDER
    staging, old = (run / f".{ONNX_FOLDER}.{os.getpid()}.{suffix}" for suffix in ("tmp", "old"))
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        fp32, int8 = (staging / ONNX_FILES[backend] for backend in ("onnx", "onnx-int8"))
        export_fp32(model, tokenizer, fp32)
        difference = largest_difference(model, tokenizer, fp32)
        if difference > TOLERANCE:
            raise InferenceError(
                f"{run}: the ONNX export's logits differ from PyTorch's by {difference:.2e} (> {TOLERANCE:g}); "
                "nothing was written; report this with the model's config.json"
            )
        quantize_int8(fp32, int8)
        model.config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = {"fp32": ONNX_FILES["onnx"], "int8": ONNX_FILES["onnx-int8"]}
    sizes = {f"{kind}_mb": round((target / name).stat().st_size / 2**20, 1) for kind, name in files.items()}
    write_model_card(run, onnx={"folder": ONNX_FOLDER, **files, **sizes, "label_names": label_names(model.config)})
    return target


def export_if_missing(run: Path) -> None:
    """Export `run` first, saying so, when one of its ONNX files is missing: what the benchmarks do before timing."""
    if not all(path.is_file() for path in model_files(run).values()):
        print(f"Exporting {run} first (make export)")
        export_run(run)


def main(argv=None) -> None:
    args = parse_flags(ExportArguments, argv, PROG, __doc__)

    ###############
    # Export, quantize, check
    ###############
    target = export_run(Path(args.output_dir))

    ###############
    # Say what was written
    ###############
    for name in sorted(path.name for path in target.iterdir()):
        print(f"  {(target / name).stat().st_size:>12,}  {target / name}")
    print(f"Load it with: make predict OUTPUT_DIR={args.output_dir} INPUT=... BACKEND=onnx (or onnx-int8)")


if __name__ == "__main__":
    exit_in_one_line(main, PROG)
