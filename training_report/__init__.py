"""What a run writes about itself: the notebook's per-epoch table and its plot, the scores and evaluation of each
split, the Hub model card (with the seed study the run belongs to); and the push of a finished run to the Hub."""

from .epochs import NOTEBOOK_ACCURACY, EpochTimer, epoch_table, run_training_loss, to_markdown, write_epoch_table
from .evaluation import (
    class_key,
    cross_entropy,
    evaluation_markdown,
    probabilities,
    score,
    write_evaluation_report,
    write_split_evaluation,
)
from .hub import PushError, push_run, repo_id_of
from .model_card import base_model_name, card_inputs, render_model_card, write_model_card
from .plots import below, plot_epochs, save_figure
from .predictions import PREDICTION_HEADERS, predictions_tsv
from .splits import Split, split_names
from .study import run_metrics, study_card

__all__ = [
    "NOTEBOOK_ACCURACY",
    "PREDICTION_HEADERS",
    "EpochTimer",
    "PushError",
    "Split",
    "base_model_name",
    "below",
    "card_inputs",
    "class_key",
    "cross_entropy",
    "epoch_table",
    "evaluation_markdown",
    "plot_epochs",
    "predictions_tsv",
    "probabilities",
    "push_run",
    "render_model_card",
    "repo_id_of",
    "run_metrics",
    "run_training_loss",
    "save_figure",
    "score",
    "split_names",
    "study_card",
    "to_markdown",
    "write_epoch_table",
    "write_evaluation_report",
    "write_model_card",
    "write_split_evaluation",
]
