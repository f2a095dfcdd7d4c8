"""What a run writes about itself: the notebook's per-epoch table and its plot, the final evaluation of each
split, the Hub model card, results and checkpoints; and its push."""

from .epochs import NOTEBOOK_ACCURACY, EpochTimer, epoch_table, run_training_loss, to_markdown, write_epoch_table
from .evaluation import SPLIT_NAMES, evaluation_markdown, write_evaluation_report, write_split_evaluation
from .files import FINISHED_MARKER, is_complete_checkpoint, last_complete_checkpoint, save_results
from .hub import PushError, push_run
from .model_card import add_onnx_usage, write_model_card
from .plots import plot_epochs

__all__ = [
    "FINISHED_MARKER",
    "NOTEBOOK_ACCURACY",
    "SPLIT_NAMES",
    "EpochTimer",
    "PushError",
    "add_onnx_usage",
    "epoch_table",
    "evaluation_markdown",
    "is_complete_checkpoint",
    "last_complete_checkpoint",
    "plot_epochs",
    "push_run",
    "run_training_loss",
    "save_results",
    "to_markdown",
    "write_epoch_table",
    "write_evaluation_report",
    "write_model_card",
    "write_split_evaluation",
]
