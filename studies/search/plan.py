"""A search planned: its arguments (`SearchArguments`), every input checked in one line before any model loads or
anything is written (`plan_search`), and the recipe's own seed study read as the baseline."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from errors import ProjectError
from run_folder import SETTINGS_FILE, read_settings
from run_folder.settings import settings_differences
from training import RunArguments
from training.recipes import given_flags

from ..plan import RUN_FOLDER, StudyPlan
from ..seeds import parse_seeds
from ..space import DEFAULT_SPACE, read_space

DIRECTION = "maximize"
METRICS = ("accuracy", "macro_f1")  # what a trial scores on its validation split
SAMPLERS = ("random", "tpe")

# The flags a search sets for each trial, or that a trial must not do (studies.plan.OWNED_FLAGS says why).
OWNED = (*RUN_FOLDER, "push_to_hub", "push_to_hub_dry_run")


@dataclass
class SearchArguments:
    output_dir: str = field(
        metadata={"help": "The search's folder: trial-<number>/ per trial, confirmation/, the report."}
    )
    trials: int = field(default=20, metadata={"help": "Run trials until the study holds this many complete ones."})
    space: str = field(
        default=DEFAULT_SPACE, metadata={"help": "The search space: a YAML file of flag → distribution."}
    )
    storage: str | None = field(
        default=None,
        metadata={
            "help": "Where the study lives: a database URL (postgresql://user@host:port/db; the password in "
            "PGPASSWORD or ~/.pgpass, not in the URL) for workers on several machines. Default: a journal file "
            "in --output_dir (workers on one machine)."
        },
    )
    study_name: str | None = field(
        default=None, metadata={"help": "The study's name in the storage (default: the name of --output_dir)."}
    )
    seeds: list[str] | None = field(
        default=None,
        metadata={
            "help": "Confirm the best configuration over these seeds (a seed study, --vary all), or 'none'. "
            "Default: the five seeds after the recipe's --seed (the recipe's own seed would repeat the trial)."
        },
    )
    sampler: str = field(
        default="random",
        metadata={
            "help": "'random': independent draws, what the expected-best curve assumes; 'tpe': Optuna's TPE "
            "(the curve then describes a sequence that learns, and the report says so).",
            "choices": SAMPLERS,
        },
    )
    sampler_seed: int | None = field(
        default=None,
        metadata={"help": "Seed of the draws (default: the recipe's --seed); trial N's draw depends on it and N only."},
    )
    baseline: str | None = field(
        default=None,
        metadata={"help": "seeds.json of the recipe's own seed study (make seeds), drawn as a line on the curve."},
    )
    metric: str = field(
        default="accuracy",
        metadata={"help": "What a trial is scored by on its validation split: 'accuracy', or 'macro_f1' (classes of "
                  "unequal size).", "choices": METRICS},
    )  # fmt: skip


@dataclass
class Search:
    """A search checked and ready to run: nothing has been written yet."""

    output_dir: Path
    trials: int
    plan: StudyPlan  # the arguments every trial starts from, their settings: what the study is a search of
    space: dict  # flag -> Optuna distribution
    space_file: Path
    storage: str | None
    study_name: str
    seeds: list[int] | None
    sampler: str
    sampler_seed: int
    baseline: dict | None
    metric: str  # the validation metric a trial scores: eval_accuracy or eval_macro_f1

    @property
    def sampler_name(self) -> str:
        return f"{self.sampler} (seed {self.sampler_seed})"


def plan_search(search_args: SearchArguments, arguments: RunArguments, argv: list[str]) -> Search:
    """Every input checked, in one line each, before any model loads or anything is written: the trials, the space
    (against the arguments), the seeds, the sampler, the baseline, the model and data (their hashes)."""
    if search_args.trials < 1:
        raise ProjectError(f"--trials {search_args.trials}: at least 1 (20 or more for a curve worth reading)")
    space = read_space(search_args.space, arguments)
    if clash := [flag for flag in space if flag in given_flags(argv)]:
        raise ProjectError(
            f"--{clash[0]}: the search space ({search_args.space}) varies it; drop the flag or the space's key"
        )
    seeds = None
    if [s.lower() for s in search_args.seeds or []] != ["none"]:
        seeds = parse_seeds(search_args.seeds, arguments.training.seed + 1)
    sampler_seed = arguments.training.seed if search_args.sampler_seed is None else search_args.sampler_seed
    output_dir = Path(search_args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ProjectError(f"--output_dir {output_dir}: is a file, not a folder; choose another --output_dir")
    plan = StudyPlan.checked(arguments)  # the model's source checked, the model and data hashed
    metric = f"eval_{search_args.metric}"
    baseline = read_baseline(search_args.baseline, plan.settings, metric) if search_args.baseline else None
    return Search(
        output_dir=output_dir,
        trials=search_args.trials,
        plan=plan,
        space=space,
        space_file=Path(search_args.space),
        storage=search_args.storage,
        study_name=search_args.study_name or output_dir.resolve().name,
        seeds=seeds,
        sampler=search_args.sampler,
        sampler_seed=sampler_seed,
        baseline=baseline,
        metric=metric,
    )


# What a baseline's runs must share with the search's for its mean to be a line on the same plot.
BASELINE_SETTINGS = (
    "model",
    "model_sha256",
    "data_sha256",
    "sample_fraction",
    "sample_seed",
    "validation_fraction",
    "validation_split",
    "max_length",
)


def read_baseline(path: str, settings: dict, metric: str) -> dict:
    """The recipe's own seed study (its seeds.json): mean and std of its validation `metric`, checked to be of the
    same model, data and sample as the search."""
    file = Path(path) / "seeds.json" if Path(path).is_dir() else Path(path)
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        scores = record["metrics"][metric]
        mean, std, values = float(scores["mean"]), float(scores["std"]), scores["values"]
        runs = list(record["runs"].values())
    except OSError as err:
        raise ProjectError(
            f"--baseline {path}: cannot read it ({err.strerror}); pass a seed study's seeds.json"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ProjectError(f"--baseline {path}: not a seed study's seeds.json (make seeds writes one)") from None
    for run in runs:
        recorded = file.parent / run / SETTINGS_FILE
        if recorded.is_file():
            theirs = {k: v for k, v in read_settings(recorded).items() if k in BASELINE_SETTINGS}
            ours = {k: v for k, v in settings.items() if k in BASELINE_SETTINGS}
            if differences := settings_differences(theirs, ours):
                raise ProjectError(
                    f"--baseline {path}: its runs differ from the search's ({'; '.join(differences)}); "
                    "pass a seed study of the same model, data and sample"
                )
    return {"path": str(file), "mean": mean, "std": std, "runs": len(values)}
