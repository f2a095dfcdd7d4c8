"""A run's settings from a recipe and the command line: `parse_args(argv)` → (model, data, training) arguments.

A recipe (`recipes/*.yaml`) maps flags of `run_finetune.py --help` to values, optionally on top of a `base:` recipe.
Its values go to the parser as flags ahead of the command line's, so that argparse checks and converts both alike
(types, choices, required settings) and a flag on the command line overrides the recipe's."""

import argparse
import json
import os
import re
import sys
from dataclasses import MISSING, asdict, fields
from enum import Enum
from pathlib import Path

import yaml
from huggingface_hub import get_token
from transformers import HfArgumentParser

from errors import ProjectError, one_line_errors
from sst_data import without_source

from .arguments import DataArguments, FinetuneArguments, ModelArguments, RunArguments

ROOT = Path(__file__).resolve().parents[1]  # the checkout, or site-packages: recipes/ is installed beside this package
DATACLASSES = (ModelArguments, DataArguments, FinetuneArguments)
DEFAULT_RECIPE = next(f.default for f in fields(FinetuneArguments) if f.name == "config")
REFUSED_FLAGS = ("do_train", "do_eval", "do_predict")  # a run always trains, validates and evaluates


def find_recipe(path: str | Path) -> Path:
    """A recipe path as given, else relative to the project (the recipes travel with an installed package)."""
    for candidate in (Path(path), ROOT / path):
        if candidate.is_file():
            return candidate
    raise ProjectError(f"--config {path}: recipe file not found; pass a YAML file such as {DEFAULT_RECIPE}")


def read_recipe(path: str | Path, known: set[str], referred_by: Path | None = None) -> dict:
    """A recipe's settings; a `base: other.yaml` (relative to the recipe) is read first and overridden."""
    try:
        path = find_recipe(path)
    except ProjectError:
        if referred_by is None:
            raise
        raise ProjectError(f"--config {referred_by}: base: {path}: recipe file not found; fix the base: line") from None
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ProjectError(f"--config {path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(recipe, dict):
        raise ProjectError(f"--config {path}: not a YAML mapping of argument names to values")
    base = recipe.pop("base", None)
    for key, value in recipe.items():
        if key not in known:
            raise ProjectError(f"--config {path}: unknown key '{key}'; keys are the flags of --help, without '--'")
        if value is None:
            raise ProjectError(f"--config {path}: {key}: no value; give one, or remove the line for the default")
    return without_source(read_recipe(path.parent / base, known, path) if base else {}, set(recipe)) | recipe


def as_flags(recipe: dict) -> list[str]:
    """The recipe's settings as the command line would give them."""
    flags = []
    for key, value in recipe.items():
        values = value if isinstance(value, list) else [value]
        flags += [f"--{key}", *(json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool)
                                else str(v) for v in values)]  # fmt: skip
    return flags


def given_flags(argv: list[str]) -> set[str]:
    return {arg[2:].split("=")[0] for arg in argv if arg.startswith("--")}


def parse_args(argv: list[str] | None = None, description: str | None = None, training_class=FinetuneArguments):
    """The run's `RunArguments` (model, data, and training: FinetuneArguments or `training_class`, a subclass) from
    `--config` (default: the notebook recipe) and `argv` (default: the command line), checked against this process's
    environment too (the token, the launcher); every problem is a `ProjectError` of one line naming the flag or recipe."""
    arguments = read_arguments(argv, description, training_class)
    training_args = arguments.training
    if training_args.hub_token:
        raise ProjectError("--hub_token would be saved with the run's arguments; set HF_TOKEN or run `hf auth login` instead")
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > training_args.world_size:  # e.g. torchrun on a machine without GPUs, no --use_cpu
        raise ProjectError(f"launched as {launched} processes that did not join one group; "
                           "without GPUs pass --use_cpu so they train together over gloo")  # fmt: skip
    if training_args.push_to_hub or training_args.push_to_hub_dry_run or training_args.hub_model_id:
        from training_report import repo_id_of  # here: the report's libraries load only for a run that pushes

        repo_id_of(training_args.output_dir, training_args.hub_model_id)  # before training, not after
    if training_args.push_to_hub and not training_args.push_to_hub_dry_run and get_token() is None:
        raise ProjectError("--push_to_hub: no Hugging Face token; set HF_TOKEN or run `hf auth login` (or --push_to_hub_dry_run)")
    return arguments


def read_arguments(argv: list[str] | None = None, description: str | None = None, training_class=FinetuneArguments):
    """The arguments of the recipe and `argv`, before `parse_args` checks them against this process (its token, its
    launcher)."""
    dataclass_types = (*DATACLASSES[:2], training_class)
    argv = list(sys.argv[1:] if argv is None else argv)
    config_parser = argparse.ArgumentParser(add_help=False)
    config_parser.add_argument("--config", default=DEFAULT_RECIPE)
    config = config_parser.parse_known_args(argv)[0].config
    known = {f.name for dataclass_type in dataclass_types for f in fields(dataclass_type) if f.init} - {"config"}
    on_command_line = given_flags(argv)
    recipe_settings = read_recipe(config, known)
    recipe = without_source(recipe_settings, on_command_line)  # another source replaces the recipe's

    def where(message: str) -> str:
        """The message, naming the recipe when the flag it is about came from there (and each flag once: argparse
        also names the dashed spelling HfArgumentParser accepts)."""
        message = re.sub(r"(--\w+)/--[\w-]+", r"\1", message)
        flag = re.search(r"--(\w+)", message)
        if flag and flag[1] in recipe and flag[1] not in on_command_line:
            hint = ""
            if isinstance(recipe[flag[1]], bool) and "invalid choice" in message:
                hint = " (YAML reads a bare on/off/yes/no as true/false: quote it)"
            return f"--config {find_recipe(config)}: {message}{hint}"
        if message.startswith("the following arguments are required"):
            return f"{message}; set them in the recipe (--config {config}) or on the command line"
        return message

    for name in REFUSED_FLAGS:
        if name in recipe or name in on_command_line:
            raise ProjectError(f"--{name}: a run always trains, validates each epoch and evaluates; drop the flag")
    parser = one_line_errors(
        HfArgumentParser(dataclass_types, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    )
    flags = as_flags(recipe) + argv
    try:
        # Unknown flags before the dataclasses are built: TrainingArguments' set-up imports seconds of transformers.
        unknown = parser.parse_known_args(flags)[1]
        arguments = None if unknown else parser.parse_args_into_dataclasses(flags, look_for_args_file=False)
    except (ProjectError, ValueError) as err:  # argparse's errors, and the dataclasses' own checks
        raise ProjectError(where(" ".join(str(err).split()))) from None
    if unknown:
        raise ProjectError(f"unrecognized arguments: {' '.join(unknown)}; see --help (a value with spaces needs quotes)")
    return RunArguments(*arguments, recipe=recipe_settings)


# The paths a command names, and the folder a path of this machine goes into when a card shows the command.
PATHS = {"config": "recipes", "data_dir": "data", "train_file": "data", "validation_file": "data", "test_file": "data",
         "output_dir": "outputs", "teacher": "outputs", "transfer_file": "data"}  # fmt: skip


def portable(key: str, value: str) -> str:
    """A path as a model card's command shows it: relative to the project, or the folder's name under recipes/, data/
    or outputs/ (where recipes live, `make data` and runs write); never a path of this machine."""
    path = Path(value)
    if path.is_absolute() and path.resolve().is_relative_to(ROOT):
        return str(path.resolve().relative_to(ROOT))
    if path.is_absolute() or ".." in path.parts:
        return str(Path(PATHS[key], path.name))
    return value


def reproduce_flags(arguments: RunArguments) -> list[str]:
    """The flags that train this run again: its recipe, its model, data and output folders, the settings the recipe
    lacks, and each result-defining setting that differs from the recipe's value (or, where the recipe says nothing,
    from the field's default; the settings gpu_mode chooses are left to it). Read from the arguments alone: building
    others would set up this process's devices again. Paths are made portable; the model is as given (a local folder:
    the card names it by its Hub id)."""
    from run_folder import RESULT_DEFINING  # here: parse_args, above, needs neither the run folder nor the data library

    model_args, data_args, training_args = arguments
    values = asdict(model_args) | asdict(data_args) | training_args.to_dict()
    recipe = arguments.recipe
    defaults = {f.name: f.default if f.default_factory is MISSING else f.default_factory()
                for dataclass_type in (*DATACLASSES[:2], type(training_args)) for f in fields(dataclass_type) if f.init}  # fmt: skip
    chosen = FinetuneArguments.GPU_MODE_SETTINGS if training_args.gpu_mode != "off" else ()
    flags = ["--config", portable("config", training_args.config)]
    for key, value in values.items():
        reference = recipe.get(key, defaults.get(key))
        if key in PATHS and key != "config":
            flags += [f"--{key}", portable(key, value)] if value is not None else []
        elif key == "dataset_name" and value is not None:
            flags += [f"--{key}", portable("data_dir", value) if Path(value).exists() else value]
        elif key == "model_name_or_path" or key in RESULT_DEFINING and key not in chosen:
            comparable = key in recipe or reference is MISSING or is_scalar(reference) and is_scalar(value)
            if comparable and not same(value, reference):
                flags += as_flags({key: value})
    return flags


def is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, Enum))


def same(value, reference) -> bool:
    """Whether a setting is the recipe's or default value: an enum as its value, and an unset (None) default as the
    False, empty or unset value TrainingArguments makes of it."""
    value, reference = (v.value if isinstance(v, Enum) else v for v in (value, reference))
    return value == reference or reference is None and value in (None, False, [], {}, "")
