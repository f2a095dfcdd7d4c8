"""Whether a run may use its output folder: start afresh, resume its own unfinished run, or stop with one line,
all before any data or model loads; and the folder made and the run's settings recorded once they have loaded."""

import json
import logging
import shutil
import tempfile
from pathlib import Path

from errors import ProjectError

from .checkpoints import is_complete_checkpoint, last_complete_checkpoint
from .files import FINISHED_MARKER, SETTINGS_FILE, write_atomic, written_by_the_suite
from .settings import read_settings, run_settings, settings_differences

logger = logging.getLogger(__name__)
WAYS_OUT = "pass --overwrite_output_dir to start over (make: ARGS=--overwrite_output_dir), or choose another --output_dir"


def prepare_output_dir(model_args, data_args, args, main_process: bool = True) -> tuple[str | None, dict]:
    """Whether this run may use its output folder, decided before anything loads and without writing anything: the
    checkpoint it resumes from (None: from scratch), or one line refusing it; and its settings (the model's source and
    the data folder checked there), which `claim_output_dir` records once the data and the model have loaded."""
    output_dir = Path(args.output_dir)
    check_writable(output_dir)
    settings = run_settings(model_args, data_args, args)
    if args.resume_from_checkpoint:
        if args.overwrite_output_dir:
            raise ProjectError("--resume_from_checkpoint continues a run, --overwrite_output_dir starts over: pass one of them")
        if not is_complete_checkpoint(args.resume_from_checkpoint):
            raise ProjectError(
                f"--resume_from_checkpoint {args.resume_from_checkpoint}: not a complete checkpoint; "
                "pass a checkpoint-N folder holding trainer_state.json, or omit the flag to resume from the newest"
            )
        resumed_run = Path(args.resume_from_checkpoint).parent
        check_same_settings(resumed_run, settings, "--resume_from_checkpoint's run")
        if output_dir.resolve() != resumed_run.resolve() and not holds_nothing_to_keep(output_dir):
            raise ProjectError(f"--output_dir {output_dir} holds files of another run; the resumed run would write among "
                               f"them: choose an empty --output_dir, or the checkpoint's own run folder {resumed_run}")  # fmt: skip
        checkpoint = args.resume_from_checkpoint
    elif args.overwrite_output_dir:
        checkpoint = None
    elif holds_nothing_to_keep(output_dir):
        if main_process and (output_dir / SETTINGS_FILE).exists():  # stopped before its first checkpoint
            logger.info("%s holds only the settings of a run that kept nothing: this run replaces them", output_dir)
        checkpoint = None
    elif (output_dir / FINISHED_MARKER).exists():
        raise ProjectError(f"--output_dir {output_dir} holds a finished run; {WAYS_OUT}")
    else:
        check_same_settings(output_dir, settings, f"--output_dir {output_dir}")
        checkpoint = last_complete_checkpoint(output_dir)  # None: stopped before its first checkpoint, start again
        logger.info("Resuming the unfinished run from %s", checkpoint or "its start (no complete checkpoint yet)")
    return (str(checkpoint) if checkpoint else None), settings


def claim_output_dir(settings: dict, args, main_process: bool = True) -> None:
    """The output folder made (with --overwrite_output_dir, cleared of an older run's files) and the run's settings
    recorded in it, by the main process; once the run's data and model have loaded, so that a refused run leaves
    nothing behind."""
    if not main_process:
        return
    output_dir = Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ProjectError(f"--output_dir {output_dir}: cannot write there ({err.strerror}); choose a writable folder") from None
    if args.overwrite_output_dir and not args.resume_from_checkpoint:
        clear_outputs(output_dir)
    write_atomic(output_dir / SETTINGS_FILE, json.dumps(settings, indent=2, sort_keys=True))


def holds_nothing_to_keep(folder: Path) -> bool:
    """Absent, empty, or only the settings of a run stopped before it wrote anything else: nothing to resume."""
    return not folder.is_dir() or {path.name for path in folder.iterdir()} <= {SETTINGS_FILE}


def check_writable(output_dir: Path) -> None:
    """That the output folder can be made and written, checked without making it (a folder is made and removed in the
    nearest folder that exists)."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ProjectError(f"--output_dir {output_dir}: is a file, not a folder; choose another --output_dir")
    existing = next(folder for folder in [output_dir, *output_dir.parents] if folder.exists())
    try:
        tempfile.TemporaryDirectory(dir=existing).cleanup()
    except OSError as err:
        raise ProjectError(f"--output_dir {output_dir}: cannot write there ({err.strerror}); choose a writable folder") from None


def check_same_settings(run_dir: Path, settings: dict, where: str) -> None:
    """Refuse to continue, or to count as this run, a run not started with these very settings."""
    try:
        recorded = read_settings(run_dir / SETTINGS_FILE)
    except (OSError, ValueError):
        raise ProjectError(f"{where} holds files of a run whose settings were not recorded; {WAYS_OUT}") from None
    differences = settings_differences(recorded, settings)
    if differences:
        state = "a finished" if (run_dir / FINISHED_MARKER).exists() else "an unfinished"
        raise ProjectError(f"{where} holds {state} run with other settings ({'; '.join(differences)}); {WAYS_OUT}")


def check_rerun(run_dir: Path, settings: dict) -> None:
    """Refuse (one line) unless `run_dir` is absent, holds nothing to keep, or a run started with these very settings."""
    if run_dir.is_dir() and not holds_nothing_to_keep(run_dir):
        check_same_settings(run_dir, settings, f"--output_dir {run_dir}")


def clear_outputs(output_dir: Path) -> None:
    """Remove everything the suite writes into `output_dir`; name in one line what it leaves (not the suite's)."""
    kept = []
    for path in sorted(output_dir.iterdir()):
        if written_by_the_suite(path.name):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        else:
            kept.append(path.name + ("/" if path.is_dir() else ""))
    if kept:
        logger.warning("--overwrite_output_dir left what this suite did not write in %s: %s", output_dir, ", ".join(kept))
