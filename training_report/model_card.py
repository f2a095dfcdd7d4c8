"""The run's Hub model card (`README.md` in the output folder), rendered from one template with sections.

What the card says is stored beside it as `model_card.json` when the run finishes, so that later additions render
the whole card again rather than edit its Markdown: the ONNX export's section (`make export`), and, on the Hub copy
only, the seed study a run belongs to (`make push`)."""

import json
import math
import platform
import re
import shlex
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData, try_to_load_from_cache
from huggingface_hub.utils import HFValidationError

from run_folder import CARD_INPUTS, DISTILLATION_FILE, write_atomic
from sst_data import LABEL_NAMES

from .epochs import NOTEBOOK_ACCURACY
from .evaluation import class_key
from .splits import SST, Split

TEMPLATE = Path(__file__).with_name("model_card_template.md")
# What the card of a run finished before issue 28 (SST-2 folders only) lacks, at the value it had.
OLDER_CARDS = {"label_names": LABEL_NAMES, "per_class": [],
               "source": {"kind": "folder", "notebook": False, "hub_dataset": "stanfordnlp/sst2", "files": {}, "dataset": None}}
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


def base_model_name(model_name_or_path: str) -> str:
    """The base model as a study's report names it: its Hub id, or its folder's name."""
    return base_model_id(model_name_or_path, base_model_card(model_name_or_path)) or Path(model_name_or_path).name


def trained_for(training_args, state, train_samples: int) -> str:
    """How much the run trained: its epochs and steps, and, when --max_steps stopped it, what the epochs would take."""
    batches = math.ceil(train_samples / (training_args.per_device_train_batch_size * training_args.world_size))
    by_epochs = math.ceil(batches / training_args.gradient_accumulation_steps) * training_args.num_train_epochs
    done = f"{epochs(state.epoch)} ({state.global_step} steps"
    if training_args.max_steps > 0 and state.global_step != by_epochs:
        planned = training_args.num_train_epochs
        return f"{done}: --max_steps {training_args.max_steps}; {epochs(planned)} take{'s' * (planned == 1)} {by_epochs:g})"
    return done + ")"


def warmup(steps: float) -> str:
    """TrainingArguments' warmup_steps: a number of steps, or below 1 a fraction of them."""
    return "no warmup" if steps == 0 else f"warmup over {steps:.0%} of the steps" if steps < 1 else f"{steps:g} warmup steps"


def epochs(count: float) -> str:
    return f"{count:.4g} epoch" + ("" if count == 1 else "s")


def hyperparameters(model_args, data_args, training_args, trained: str) -> dict:
    devices = training_args.world_size
    per_device = training_args.per_device_train_batch_size
    accumulation = training_args.gradient_accumulation_steps
    return {
        "optimizer": f"{training_args.optim.value} (eps {training_args.adam_epsilon:g}, "
        f"weight decay {training_args.weight_decay:g})",
        "learning rate": f"{training_args.learning_rate:g}, {training_args.lr_scheduler_type.value} schedule, "
        + warmup(training_args.warmup_steps),
        "gradient clipping (max norm)": f"{training_args.max_grad_norm:g}",
        "batch size": f"{per_device * devices * accumulation} ({per_device} per device x {devices} device(s) "
        f"x {accumulation} accumulation step(s))",
        "epochs": trained,
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


def command(flags: list[str], world_size: int, model_name: str, script: str = "run_finetune.py") -> str:
    """The command that trains this run again from a checkout (`flags`: training.recipes.reproduce_flags), the model
    given by `model_name`, never a machine's path; under `accelerate launch` (DDP through torchrun) when it ran as
    several processes. A student's script is run_distill.py."""
    launcher = ["accelerate", "launch", "--multi_gpu", "--num_processes", str(world_size)] if world_size > 1 else ["python"]
    if "--model_name_or_path" in flags:
        flags = [*flags]
        flags[flags.index("--model_name_or_path") + 1] = model_name
    return shlex.join([*launcher, script, *flags])


def card_inputs(model_args, data_args, training_args, state, results: dict, splits: list[Split], epoch_table: str,
                flags: list[str], label_names: list[str], source: dict) -> dict:  # fmt: skip
    """Everything the card says of a run, JSON-serializable: `state` the Trainer's at the end, `results` as in
    all_results.json, `splits` the evaluated ones in report order, `flags` the settings that reproduce it,
    `label_names` the classes in id order, `source` sst_data.describe's record of the data."""
    card = base_model_card(model_args.model_name_or_path)
    trained = trained_for(training_args, state, results["train_samples"])
    base_model = base_model_id(model_args.model_name_or_path, card)
    base_name = base_model or Path(model_args.model_name_or_path).name  # a folder's name, never a machine's path
    distillation = Path(training_args.output_dir) / DISTILLATION_FILE  # a student's (training.distill)
    distillation = json.loads(distillation.read_text(encoding="utf-8")) if distillation.is_file() else None
    return {
        "model_id": training_args.hub_model_id,
        "model_name": (training_args.hub_model_id or Path(training_args.output_dir).resolve().name).split("/")[-1],
        "base_model": base_model,
        "base_name": base_name,
        "license": (card.data.get("license") if card else None) or "unknown",  # the fine-tune inherits the base's
        "data": asdict(data_args) | {flag[2:]: flags[i + 1] for i, flag in enumerate(flags)  # paths as the command names them
                                     if flag in ("--data_dir", "--train_file", "--validation_file", "--test_file", "--dataset_name")},
        "source": source,  # its files and their sha256 (or the dataset), what a row is, the notebook's or not
        "label_names": label_names,
        "per_class": per_class(results, splits, label_names),
        "trained": trained,
        "results": results,
        "splits": [asdict(split) for split in splits],
        "epoch_table": epoch_table,
        "hyperparameters": hyperparameters(model_args, data_args, training_args, trained),
        "environment": environment(training_args),
        "command": command(flags, training_args.world_size, base_name, "run_distill.py" if distillation else "run_finetune.py"),
        "distillation": distillation,
        "onnx": None,  # the export's files, once `make export` has run
    }


def per_class(results: dict, splits: list[Split], label_names: list[str]) -> list[dict]:
    """Each class's F1 on each evaluated split, and its support on the first, for the card's per-class table."""
    rows = []
    for name in label_names:
        key = class_key(name)
        rows.append({"name": name, "support": results.get(f"{splits[0].prefix}_support_{key}"),
                     "f1": [results.get(f"{split.prefix}_f1_{key}") for split in splits]})  # fmt: skip
    return rows


def render_model_card(output_dir: Path, study: dict | None = None) -> str:
    """The card of the run in `output_dir`, from its stored inputs; with `study` (`study_card`), its seed study too."""
    inputs = json.loads((Path(output_dir) / CARD_INPUTS).read_text(encoding="utf-8"))
    inputs = OLDER_CARDS | {"source": OLDER_CARDS["source"] | {"rows": inputs.get("rows")}} | inputs
    splits = [Split(**split) for split in inputs["splits"]]
    hub = inputs["source"]["hub_dataset"]
    card_data = ModelCardData(
        model_name=inputs["model_name"],
        base_model=inputs["base_model"],
        license=inputs["license"],
        language="en",
        library_name="transformers",
        pipeline_tag="text-classification",
        datasets=[hub] if hub else None,
        metrics=["accuracy", "f1"],
        tags=["text-classification", *(["sentiment-analysis", hub.split("/")[1]] if hub in SST else [])],
        eval_results=[
            EvalResult(
                task_type="text-classification",
                task_name="Sentiment analysis" if hub in SST else "Text classification",
                dataset_type=split.hub_dataset,
                dataset_name=split.hub_dataset_name,
                dataset_split=split.hub_split,
                metric_type="accuracy",
                metric_value=round(inputs["results"][f"{split.prefix}_accuracy"], 4),
            )
            for split in splits
        ],
    )
    context = inputs | {"splits": splits, "study": study, "notebook_accuracy": NOTEBOOK_ACCURACY[-1],
                        "notebook_epochs": len(NOTEBOOK_ACCURACY), "sst": SST.get(hub)}  # fmt: skip
    return str(ModelCard.from_template(card_data, template_path=str(TEMPLATE), **context))


def write_model_card(output_dir: Path, **inputs) -> None:
    """Store the card's inputs (all of them, from `card_inputs`, or some changed: `onnx=`) and write README.md from them."""
    path = Path(output_dir) / CARD_INPUTS
    stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    write_atomic(path, json.dumps(stored | inputs, indent=2))
    write_atomic(Path(output_dir) / "README.md", render_model_card(output_dir))

