"""What every study shares: the flags it owns (one table, one reason each), and one plan for each run it makes (a
seed study's runs, a search's trials, its confirmation), made before anything is written: the model's source checked
and the model and data hashed once (`StudyPlan`), then each run's arguments (`RunArguments.replace`, `in_folder`), its
settings, and its folder checked to be absent, or a run of these very settings to keep or resume."""

from dataclasses import dataclass
from pathlib import Path

from errors import ProjectError
from run_folder import check_rerun, run_settings, source_identity
from training import RunArguments
from training.recipes import given_flags

# The flags a study owns, each with the one reason it is refused on a study's command line (`RUN_FOLDER` and what the
# study adds) or in a search's space (every one of them: the trials are compared on the rest).
PUBLISHED = "a study's runs are not published; push a finished run with push_to_hub.py"
SEEDED = "the study sets it for each run (a seed study varies it; a search over seeds selects luck, and its confirmation varies them)"
ROWS = "it changes the validation rows the runs are compared on"
COLUMNS = "it changes the data the runs are compared on"
OWNED_FLAGS = {
    "output_dir": "the study gives each run its own folder in its --output_dir (seed-<N>, trial-<number>)",
    "overwrite_output_dir": "the study resumes or keeps each run's folder itself",
    "resume_from_checkpoint": "the study resumes an interrupted run itself",
    "push_to_hub": PUBLISHED,
    "push_to_hub_dry_run": PUBLISHED,
    "split_seed": SEEDED,
    "data_seed": SEEDED,
    "seed": SEEDED,
    "config": "the recipe is the study's --config; a search's space varies its settings",
    "model_name_or_path": "a study is of one model (--model_name_or_path); run one study per model",
    "data_dir": "a study is of one data folder (--data_dir); run one study per data folder",
    "sample_fraction": ROWS,
    "sample_seed": ROWS,
    "validation_fraction": ROWS,
    "validation_split": ROWS,
    "text_column": COLUMNS,
    "label_column": COLUMNS,
}
RUN_FOLDER = ("output_dir", "overwrite_output_dir", "resume_from_checkpoint")  # every study sets them for each run


def check_owned_flags(argv: list[str], owned: tuple[str, ...]) -> None:
    """Refuse, in one line with its reason, the first flag of `owned` that `argv` gives."""
    if clash := sorted(set(owned) & given_flags(argv)):
        raise ProjectError(f"--{clash[0]}: {OWNED_FLAGS[clash[0]]}; drop it")


@dataclass
class PlannedRun:
    """A run of a study, checked and ready to train: nothing has been written yet."""

    folder: Path
    arguments: RunArguments
    settings: dict  # run_folder.run_settings: what the run is, compared by every rerun


@dataclass(frozen=True)
class StudyPlan:
    """The runs of one study, all of one model and one data source (`checked`: the model's source checked and the
    model and data hashed, once, before anything is written), each derived from `arguments` (`run`)."""

    arguments: RunArguments
    identity: dict  # run_folder.source_identity of the arguments' model and data

    @classmethod
    def checked(cls, arguments: RunArguments) -> "StudyPlan":
        return cls(arguments, source_identity(*arguments))

    @property
    def settings(self) -> dict:
        """run_folder.run_settings of the arguments: what the study is a study of."""
        return run_settings(*self.arguments, identity=self.identity)

    def replace(self, **flags) -> "StudyPlan":
        """The plan of runs with `flags` set (none of them the model or the data: studies own those flags), each
        checked by the arguments' own checks, in one line."""
        try:
            return StudyPlan(self.arguments.replace(**flags), self.identity)
        except ValueError as err:
            raise ProjectError(" ".join(str(err).split())) from None

    def run(self, folder: Path, **flags) -> PlannedRun:
        """The run in `folder` with `flags` set, refused in one line when `folder` holds a run of other settings."""
        arguments = self.replace(**flags).arguments.in_folder(folder)
        settings = run_settings(*arguments, identity=self.identity)
        check_rerun(folder, settings)
        return PlannedRun(folder, arguments, settings)
