"""The run folder, owned here: the names of the files a run writes, atomic writes and the finished marker; the
settings a run started with, its checkpoints, and whether a new run may start, resume or must stop there."""

from .checkpoints import is_complete_checkpoint, last_complete_checkpoint
from .files import (
    CARD_INPUTS,
    DISTILLATION_FILE,
    FINISHED_MARKER,
    MODEL_FOLDER_PATTERNS,
    SETTINGS_FILE,
    atomic_path,
    check_can_write,
    combined,
    mark_finished,
    write_atomic,
    written_by_the_suite,
)
from .finished import MODEL_FILES, InferenceError, check_finished_run
from .folder import check_rerun, claim_output_dir, holds_nothing_to_keep, prepare_output_dir
from .settings import RESULT_DEFINING, read_settings, run_settings, source_identity

__all__ = [
    "CARD_INPUTS",
    "DISTILLATION_FILE",
    "FINISHED_MARKER",
    "MODEL_FILES",
    "MODEL_FOLDER_PATTERNS",
    "RESULT_DEFINING",
    "SETTINGS_FILE",
    "InferenceError",
    "atomic_path",
    "check_can_write",
    "check_finished_run",
    "check_rerun",
    "claim_output_dir",
    "combined",
    "holds_nothing_to_keep",
    "is_complete_checkpoint",
    "last_complete_checkpoint",
    "mark_finished",
    "prepare_output_dir",
    "read_settings",
    "run_settings",
    "source_identity",
    "write_atomic",
    "written_by_the_suite",
]
