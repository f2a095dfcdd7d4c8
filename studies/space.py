"""A search space: a YAML file mapping flags of `run_finetune.py --help` to distributions, read and checked in full
before anything loads or is written.

    learning_rate: {type: float, low: 1.0e-5, high: 1.0e-4, log: true}
    num_train_epochs: {type: int, low: 2, high: 6}
    per_device_train_batch_size: {type: categorical, choices: [16, 32, 64]}

`float` and `int` take `low`, `high` (both included), optionally `log: true` or a `step`; `categorical` takes
`choices`. Every value a distribution can give is checked as a run's setting: its type, and the arguments' own
checks at `low`, `high` and each choice (built with `RunArguments.replace`, as a trial builds them). Refused, each in
one line naming the file and the key: a flag that is not one, a flag the search sets itself or that would change
what the trials are compared on (the data, its split, the seeds; studies.plan.OWNED_FLAGS), a flag that does not
change a run's result, and every malformed distribution."""

import dataclasses
import enum
import json
import math
import types
import typing
from pathlib import Path

import optuna
import yaml

from errors import ProjectError
from run_folder import RESULT_DEFINING
from training import RunArguments
from training.recipes import ROOT

from .plan import OWNED_FLAGS

DEFAULT_SPACE = "recipes/search/notebook.yaml"
KEYS = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"}, "categorical": {"choices"}}

def find_space(path: str | Path) -> Path:
    """A space file as given, else relative to the project (the spaces travel with an installed package)."""
    for candidate in (Path(path), ROOT / path):
        if candidate.is_file():
            return candidate
    raise ProjectError(f"--space {path}: search space file not found; pass a YAML file such as {DEFAULT_SPACE}")


def read_space(path: str | Path, arguments: RunArguments) -> dict[str, optuna.distributions.BaseDistribution]:
    """The space in `path` as Optuna distributions, by flag, in the file's order; every problem a `ProjectError` of
    one line naming the file and the key. `arguments`: the (model, data, training) arguments the trials start from."""
    path = find_space(path)
    try:
        space = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ProjectError(f"--space {path}: not valid YAML ({' '.join(str(err).split())})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ProjectError(f"--space {path}: cannot read it ({err})") from None
    if not isinstance(space, dict) or not space:
        raise ProjectError(
            f"--space {path}: not a YAML mapping of flags to distributions, e.g. "
            "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-4, log: true}"
        )
    distributions = {}
    for flag, spec in space.items():
        try:
            distributions[flag] = distribution(flag, spec, arguments)
        except ProjectError as err:
            raise ProjectError(f"--space {path}: {flag}: {err}") from None
    return distributions


def dataclass_of(flag: str, arguments: RunArguments) -> type:
    """The argument dataclass that holds `flag`: the model's, the data's or the training's."""
    return type(getattr(arguments, arguments.owner(flag)))


def field_kinds(flag: str, arguments: RunArguments) -> set[type]:
    """The kinds of value a setting takes: bool, int, float, str (an enum's values are names), or others."""
    hint = typing.get_type_hints(dataclass_of(flag, arguments))[flag]
    kinds = set()
    for kind in typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,):
        if kind is type(None):
            continue
        kinds.add(str if isinstance(kind, type) and issubclass(kind, enum.Enum) else typing.get_origin(kind) or kind)
    return kinds


def distribution(flag: str, spec, arguments: RunArguments) -> optuna.distributions.BaseDistribution:
    if not isinstance(flag, str) or arguments.owner(flag) is None:
        raise ProjectError("not a flag of run_finetune.py --help; keys are its flags, without '--'")
    if flag in OWNED_FLAGS:
        raise ProjectError(f"cannot be searched: {OWNED_FLAGS[flag]}")
    if flag not in RESULT_DEFINING:
        raise ProjectError(
            "does not change a run's result (paths, logging, checkpoints, evaluation batches): nothing to search"
        )
    if not isinstance(spec, dict):
        raise ProjectError("not a distribution; write e.g. {type: float, low: 1.0e-5, high: 1.0e-4, log: true}")
    kind = spec.get("type")
    if kind not in KEYS:
        raise ProjectError(f"type {kind!r}: unknown; give type: float, int or categorical")
    if unknown := sorted(set(spec) - KEYS[kind] - {"type"}, key=str):
        raise ProjectError(f"unknown key {unknown[0]!r} for type {kind}; its keys are {', '.join(sorted(KEYS[kind]))}")
    kinds = field_kinds(flag, arguments)
    if not kinds <= {bool, int, float, str}:
        raise ProjectError("takes a mapping or a list, which a search cannot draw; search a number, a switch or a name")
    if kind == "categorical":
        result = categorical(spec, kinds)
        values = result.choices
    else:
        result = numeric(kind, spec, kinds)
        values = (result.low, result.high)
    for value in values:
        check_value(flag, value, arguments)
    if flag == "warmup_steps" and kind != "categorical" and result.low < 1 <= result.high:
        raise ProjectError(
            f"low {result.low} and high {result.high} mix a ratio of the training steps (< 1) and a "
            "number of steps (>= 1); keep both below 1 or both at 1 or more"
        )
    return result


def number(spec: dict, key: str, integer: bool):
    value = spec.get(key)
    if value is None:
        raise ProjectError(f"{key}: missing; {'int' if integer else 'float'} takes low and high")
    if isinstance(value, str):  # PyYAML reads 1e-5 (no dot) as text
        hint = " (YAML reads 1e-5 as text: write 1.0e-5)" if "e" in value.lower() else ""
        raise ProjectError(f"{key} {value!r}: not a number{hint}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProjectError(f"{key} {value!r}: not a finite number")
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        raise ProjectError(f"{key} {value}: type int takes integers; use type float")
    return int(value) if integer else float(value)


def numeric(kind: str, spec: dict, kinds: set[type]):
    integer = kind == "int"
    if kind == "float" and float not in kinds or integer and not kinds & {int, float}:
        raise ProjectError(
            f"type {kind}: the setting takes {' or '.join(sorted(k.__name__ for k in kinds))} values; "
            f"use {'type int or ' if int in kinds else ''}type categorical"
        )
    low, high = number(spec, "low", integer), number(spec, "high", integer)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ProjectError(f"log {log!r}: true or false")
    step = None if spec.get("step") is None else number(spec, "step", integer)
    if low > high:
        raise ProjectError(f"low {low} > high {high}: an empty range")
    if log and low <= 0:
        raise ProjectError(f"log: true needs low > 0 (low {low})")
    if step is not None:
        if step <= 0:
            raise ProjectError(f"step {step}: must be > 0")
        if log and (not integer or step != 1):
            raise ProjectError(f"step {step} with log: true: a log scale takes no step")
    if integer:
        return optuna.distributions.IntDistribution(low, high, log=log, step=step or 1)
    return optuna.distributions.FloatDistribution(low, high, log=log, step=step)


def categorical(spec: dict, kinds: set[type]):
    choices = spec.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ProjectError("choices: give a non-empty list, e.g. choices: [16, 32, 64]")
    for choice in choices:
        fits = (
            isinstance(choice, bool)
            and bool in kinds
            or not isinstance(choice, bool)
            and isinstance(choice, int)
            and kinds & {int, float}
            or isinstance(choice, float)
            and float in kinds
            and math.isfinite(choice)
            or isinstance(choice, str)
            and str in kinds
        )
        if not fits:
            raise ProjectError(
                f"choice {choice!r}: the setting takes {' or '.join(sorted(k.__name__ for k in kinds))} values"
            )
    if len(set(map(repr, choices))) < len(choices):
        raise ProjectError(f"choices {choices}: a choice is given twice; give each once")
    return optuna.distributions.CategoricalDistribution(choices)


def check_value(flag: str, value, arguments: RunArguments) -> None:
    """The arguments' own checks at `value`, as a trial would build its arguments."""
    metadata = next(f.metadata for f in dataclasses.fields(dataclass_of(flag, arguments)) if f.name == flag)
    if "choices" in metadata and value not in metadata["choices"]:
        raise ProjectError(f"{value!r}: not one of {', '.join(map(str, metadata['choices']))}")
    try:
        arguments.replace(**{flag: value})
    except ValueError as err:
        raise ProjectError(f"{value!r} is refused: {' '.join(str(err).split())}") from None


def space_record(distributions: dict) -> dict:
    """The space as JSON: flag → Optuna's JSON of its distribution (how a study records its space)."""
    return {flag: json.loads(optuna.distributions.distribution_to_json(d)) for flag, d in distributions.items()}
