"""A run's state in its output folder: the settings it started with, its checkpoints, and whether a new run
may start, resume or must stop there."""

from .checkpoints import is_complete_checkpoint, last_complete_checkpoint
from .folder import check_rerun, prepare_output_dir
from .settings import read_settings, run_settings
from .signals import Interrupted, exit_in_one_line, stop_on_signals

__all__ = [
    "Interrupted",
    "check_rerun",
    "exit_in_one_line",
    "is_complete_checkpoint",
    "last_complete_checkpoint",
    "prepare_output_dir",
    "read_settings",
    "run_settings",
    "stop_on_signals",
]
