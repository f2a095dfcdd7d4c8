"""Changes to a pretrained model's computation that keep its outputs: `last_layer_cls_only`."""

from .cls_only import CLS_ONLY_MODELS, cls_only_refusal, last_layer_cls_only

__all__ = ["CLS_ONLY_MODELS", "cls_only_refusal", "last_layer_cls_only"]
