"""What a run writes about itself: the notebook's per-epoch table and its plot, the final evaluation of each
split, the Hub model card and the results that mark it finished; and its push."""

from .epochs import NOTEBOOK_ACCURACY, EpochTimer, epoch_table, run_training_loss, to_markdown, write_epoch_table
from .evaluation import evaluation_markdown, write_evaluation_report, write_split_evaluation
from .hub import PushError, push_run
from .model_card import add_onnx_usage, reproduce_command, write_model_card
from .outputs import FINISHED_MARKER, combined, save_results, write_atomic
from .plots import plot_epochs
from .splits import Split, split_names

__all__ = [
    "FINISHED_MARKER",
    "NOTEBOOK_ACCURACY",
    "EpochTimer",
    "PushError",
    "Split",
    "add_onnx_usage",
    "combined",
    "epoch_table",
    "evaluation_markdown",
    "plot_epochs",
    "push_run",
    "reproduce_command",
    "run_training_loss",
    "save_results",
    "split_names",
    "to_markdown",
    "write_atomic",
    "write_epoch_table",
    "write_evaluation_report",
    "write_model_card",
    "write_split_evaluation",
]
