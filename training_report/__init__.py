"""What a run writes about itself: the notebook's per-epoch table and its plot."""

from .epochs import NOTEBOOK_ACCURACY, EpochTimer, epoch_table, to_markdown, write_epoch_table
from .plots import plot_epochs

__all__ = ["NOTEBOOK_ACCURACY", "EpochTimer", "epoch_table", "plot_epochs", "to_markdown", "write_epoch_table"]
