"""The run's Hub model card (`README.md` in the output folder), built from the run's own results files."""

import json
import platform
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import jinja2
import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData, try_to_load_from_cache
from huggingface_hub.utils import HFValidationError

from .epochs import NOTEBOOK_ACCURACY
from .files import write_atomic

TEMPLATE = Path(__file__).with_name("model_card_template.md")
ONNX_TEMPLATE = Path(__file__).with_name("model_card_onnx.md")  # the section `make export` adds
# distilbert-base-uncased's license, for base models whose card is not at hand offline.
DEFAULT_LICENSE = "apache-2.0"
# all_results.json prefixes -> the split names the Hub's model-index uses; dev and test keep their own.
HUB_SPLIT_NAMES = {"eval": "validation"}
LIBRARIES = ["torch", "transformers", "datasets", "evaluate", "accelerate", "huggingface_hub"]


def base_model_license(model_name_or_path: str) -> str:
    """The base model card's license: from a local model folder or the Hub cache, never the network."""
    card = Path(model_name_or_path) / "README.md"
    if not card.is_file():
        try:
            card = try_to_load_from_cache(model_name_or_path, "README.md")
        except HFValidationError:  # a local folder without a card
            card = None
    if not isinstance(card, (str, Path)):  # not cached (None or the "known missing" marker)
        return DEFAULT_LICENSE
    return ModelCard.load(card).data.get("license") or DEFAULT_LICENSE


def evaluated_splits(results: dict) -> list[dict]:
    """One entry per `<split>_accuracy` in all_results.json, with the rows that split's metric counted."""
    return [
        {
            "prefix": prefix,
            "name": HUB_SPLIT_NAMES.get(prefix, prefix),
            "accuracy": value,
            "rows": results.get(f"{prefix}_samples", ""),
        }
        for key, value in results.items()
        if key.endswith("_accuracy") and (prefix := key.removesuffix("_accuracy"))
    ]


def hyperparameters(data_args, training_args) -> dict:
    devices = training_args.world_size
    per_device = training_args.per_device_train_batch_size
    accumulation = training_args.gradient_accumulation_steps
    return {
        "optimizer": f"{training_args.optim.value} (eps {training_args.adam_epsilon:g}, "
        f"weight decay {training_args.weight_decay:g})",
        "learning rate": f"{training_args.learning_rate:g}, {training_args.lr_scheduler_type.value} schedule, "
        f"{training_args.warmup_steps} warmup steps",
        "gradient clipping (max norm)": f"{training_args.max_grad_norm:g}",
        "batch size": f"{per_device * devices * accumulation} ({per_device} per device x {devices} device(s) "
        f"x {accumulation} accumulation step(s))",
        "epochs": f"{training_args.num_train_epochs:g}",
        "max length (tokens)": data_args.max_length,
        "padding": "to max length" if data_args.padding == "max_length" else "to each batch's longest review",
        "batch order": training_args.train_sampling_strategy,
        "seed": training_args.seed,
        "mixed precision": "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "no (fp32)",
    }


def environment(training_args) -> dict:
    device = training_args.device
    name = f"{device.type} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else device.type
    return {
        "python": platform.python_version(),
        **{library: version(library) for library in LIBRARIES},
        "devices": f"{training_args.world_size} x {name}",
    }


def reproduce_command(argv: list[str], training_args) -> str:
    """This run's command line; under `accelerate launch` (DDP through torchrun) when it ran as several processes."""
    if training_args.world_size > 1:
        launcher = ["accelerate", "launch", "--multi_gpu", "--num_processes", str(training_args.world_size)]
    else:
        launcher = ["python"]
    return shlex.join([*launcher, "run_finetune.py", *argv])


def write_model_card(output_dir: Path, model_args, data_args, training_args, argv: list[str]) -> ModelCard:
    """Write `output_dir/README.md` from the run's all_results.json and epoch_stats.md."""
    output_dir = Path(output_dir)
    results = json.loads((output_dir / "all_results.json").read_text(encoding="utf-8"))
    model_id = training_args.hub_model_id or output_dir.resolve().name
    splits = evaluated_splits(results)
    card_data = ModelCardData(
        model_name=model_id.split("/")[-1],
        base_model=model_args.model_name_or_path if not Path(model_args.model_name_or_path).exists() else None,
        license=base_model_license(model_args.model_name_or_path),
        language="en",
        library_name="transformers",
        pipeline_tag="text-classification",
        datasets=["stanfordnlp/sst2"],
        metrics=["accuracy"],
        tags=["text-classification", "sentiment-analysis", "sst2"],
        eval_results=[
            EvalResult(
                task_type="text-classification",
                task_name="Sentiment analysis",
                dataset_type="stanfordnlp/sst2",
                dataset_name="SST-2 (the notebook's train.tsv)" if split["prefix"] == "eval" else "SST-2",
                dataset_split=split["name"],
                metric_type="accuracy",
                metric_value=round(split["accuracy"], 4),
            )
            for split in splits
        ],
    )
    card = ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE),
        model_name=model_id.split("/")[-1],
        model_id=model_id,
        base_model=model_args.model_name_or_path,
        data=data_args,
        seed=training_args.seed,
        train_percent=round(100 * (1 - data_args.validation_fraction)),
        validation_percent=round(100 * data_args.validation_fraction),
        results=results,
        splits=splits,
        notebook_accuracy=NOTEBOOK_ACCURACY[-1],
        notebook_epochs=len(NOTEBOOK_ACCURACY),
        epoch_table=(output_dir / "epoch_stats.md").read_text(encoding="utf-8"),
        hyperparameters=hyperparameters(data_args, training_args),
        environment=environment(training_args),
        command=reproduce_command(argv, training_args),
    )
    write_atomic(output_dir / "README.md", str(card))
    return card


def add_onnx_usage(output_dir: Path, folder: str, fp32: str, int8: str) -> None:
    """Add (or renew) the card's section on loading the ONNX export, `output_dir/folder/` holding the `fp32` and `int8`
    model files, config and tokenizer; at the end of the card."""
    output_dir = Path(output_dir)
    card = (output_dir / "README.md").read_text(encoding="utf-8")
    template = ONNX_TEMPLATE.read_text(encoding="utf-8")
    card = card.split(template.splitlines()[0])[0].rstrip("\n")  # less a previous export's section
    found = re.search(r'pipeline\("text-classification", model="([^"]+)"\)', card)  # the card's own model id
    config = json.loads((output_dir / folder / "config.json").read_text(encoding="utf-8"))
    section = jinja2.Template(template, keep_trailing_newline=True).render(
        model_id=found[1] if found else output_dir.resolve().name,
        label_names=[config["id2label"][str(i)] for i in range(len(config["id2label"]))],
        folder=folder,
        fp32=fp32,
        int8=int8,
        fp32_mb=round((output_dir / folder / fp32).stat().st_size / 2**20, 1),
        int8_mb=round((output_dir / folder / int8).stat().st_size / 2**20, 1),
    )
    write_atomic(output_dir / "README.md", f"{card}\n\n{section}")
