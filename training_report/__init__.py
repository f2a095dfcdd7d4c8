"""What a run writes about itself: the notebook's per-epoch table and its plot, the final evaluation of each split."""

from .epochs import NOTEBOOK_ACCURACY, EpochTimer, epoch_table, to_markdown, write_epoch_table
from .evaluation import SPLIT_NAMES, evaluation_markdown, write_evaluation_report, write_split_evaluation
from .plots import plot_epochs

__all__ = [
    "NOTEBOOK_ACCURACY",
    "SPLIT_NAMES",
    "EpochTimer",
    "epoch_table",
    "evaluation_markdown",
    "plot_epochs",
    "to_markdown",
    "write_epoch_table",
    "write_evaluation_report",
    "write_split_evaluation",
]
