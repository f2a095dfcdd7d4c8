"""The run's Hub model card (`README.md` in the output folder), from the results and tables the run passes in."""

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
from .outputs import write_atomic
from .splits import HUB_DATASET, Split

TEMPLATE = Path(__file__).with_name("model_card_template.md")
ONNX_TEMPLATE = Path(__file__).with_name("model_card_onnx.md")  # the section `make export` adds
LIBRARIES = ["torch", "transformers", "datasets", "evaluate", "accelerate", "huggingface_hub"]


def base_model_card(model_name_or_path: str) -> ModelCard | None:
    """The base model's own card: from its local folder or the Hub cache, never the network."""
    card = Path(model_name_or_path) / "README.md"
    if not card.is_file():
        try:
            card = try_to_load_from_cache(model_name_or_path, "README.md")
        except HFValidationError:  # a local folder without a card
            card = None
    return ModelCard.load(card) if isinstance(card, (str, Path)) else None  # None or the "known missing" marker


def base_model_id(model_name_or_path: str, card: ModelCard | None) -> str | None:
    """The base model's Hub id: as given, or, for a local folder, the id its own card loads it by (a
    `from_pretrained('org/<title>')` whose name is the card's `# <title>`). None when nothing says."""
    if not Path(model_name_or_path).exists():
        return model_name_or_path
    title = re.search(r"^# (\S+)\s*$", card.text, re.MULTILINE) if card else None
    if title:
        loaded = re.search(rf"""from_pretrained\(\s*['"]([\w.-]+/{re.escape(title[1])})['"]""", card.text)
        return loaded[1] if loaded else None
    return None


def hyperparameters(model_args, data_args, training_args) -> dict:
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
        "seeds (split / batch order / initialisation)": f"{data_args.split_seed} / "
        f"{training_args.data_seed if training_args.data_seed is not None else training_args.seed} / {training_args.seed}",
        "mixed precision": "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "no (fp32)",
        "dropout": "the base model's" if model_args.dropout is None else f"{model_args.dropout:g} (every dropout setting)",
        "word embeddings": "frozen (as pretrained)" if model_args.freeze_word_embeddings else "trained",
    }


def environment(training_args) -> dict:
    device = training_args.device
    name = f"{device.type} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else device.type
    return {
        "python": platform.python_version(),
        **{library: version(library) for library in LIBRARIES},
        "devices": f"{training_args.world_size} x {name}",
    }


def reproduce_command(argv: list[str], world_size: int, script: str = "run_finetune.py") -> str:
    """This run's command line; under `accelerate launch` (DDP through torchrun) when it ran as several processes."""
    launcher = ["accelerate", "launch", "--multi_gpu", "--num_processes", str(world_size)] if world_size > 1 else ["python"]
    return shlex.join([*launcher, script, *argv])


def write_model_card(
    output_dir: Path, model_args, data_args, training_args, results: dict, splits: list[Split], epoch_table: str, argv
) -> None:
    """Write `output_dir/README.md`: `results` as in all_results.json, `splits` the evaluated ones in report order."""
    output_dir = Path(output_dir)
    model_id = training_args.hub_model_id
    card = base_model_card(model_args.model_name_or_path)
    base_model = base_model_id(model_args.model_name_or_path, card)
    base_name = base_model or Path(model_args.model_name_or_path).name  # a folder's name, never a machine's path
    given = model_args.model_name_or_path  # as its own word, or as --model_name_or_path=<path>
    argv = [base_name if arg == given else arg.replace(f"={given}", f"={base_name}") for arg in argv]
    card_data = ModelCardData(
        model_name=(model_id or output_dir.resolve().name).split("/")[-1],
        base_model=base_model,
        license=(card.data.get("license") if card else None) or "unknown",  # the fine-tune inherits the base's license
        language="en",
        library_name="transformers",
        pipeline_tag="text-classification",
        datasets=[HUB_DATASET],
        metrics=["accuracy"],
        tags=["text-classification", "sentiment-analysis", "sst2"],
        eval_results=[
            EvalResult(
                task_type="text-classification",
                task_name="Sentiment analysis",
                dataset_type=split.hub_dataset,
                dataset_name=split.hub_dataset_name,
                dataset_split=split.hub_split,
                metric_type="accuracy",
                metric_value=round(results[f"{split.prefix}_accuracy"], 4),
            )
            for split in splits
        ],
    )
    text = ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE),
        model_name=card_data.model_name,
        model_id=model_id,
        base_model=base_name,
        data=data_args,
        results=results,
        splits=splits,
        notebook_accuracy=NOTEBOOK_ACCURACY[-1],
        notebook_epochs=len(NOTEBOOK_ACCURACY),
        epoch_table=epoch_table,
        hyperparameters=hyperparameters(model_args, data_args, training_args),
        environment=environment(training_args),
        command=reproduce_command(argv, training_args.world_size),
    )
    write_atomic(output_dir / "README.md", str(text))


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
