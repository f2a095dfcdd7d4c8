"""A pretrained model: where it comes from (`check_model_source`, before a run writes anything), and changes to it:
`last_layer_cls_only` keeps its outputs; `dropout_overrides` and `freeze_word_embeddings` change what training
computes (recipes of their own); and a classifier's `label_names`."""

from .cls_only import CLS_ONLY_MODELS, cls_only_refusal, last_layer_cls_only
from .labels import label_names
from .source import HUB_UNREACHABLE, check_model_source
from .training_math import dropout_overrides, freeze_word_embeddings

__all__ = [
    "CLS_ONLY_MODELS",
    "HUB_UNREACHABLE",
    "check_model_source",
    "cls_only_refusal",
    "dropout_overrides",
    "freeze_word_embeddings",
    "label_names",
    "last_layer_cls_only",
]
