"""What a run writes about itself: the notebook's per-epoch table, its plot, the Hub model card; and its push."""

from .epochs import NOTEBOOK_ACCURACY, EpochTimer, epoch_table, to_markdown, write_epoch_table
from .hub import PushError, push_run
from .model_card import write_model_card
from .plots import plot_epochs

__all__ = [
    "NOTEBOOK_ACCURACY",
    "EpochTimer",
    "PushError",
    "epoch_table",
    "plot_epochs",
    "push_run",
    "to_markdown",
    "write_epoch_table",
    "write_model_card",
]
