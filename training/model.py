"""The model and tokenizer a run trains: loaded safely (safetensors only, remote code only when asked), in fp32, as a
classifier of the data's labels, with the recipe's changes to it; and the checks that they fit the run."""

import logging
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from errors import ProjectError
from modeling import (
    HUB_UNREACHABLE,
    check_model_source,
    cls_only_refusal,
    dropout_overrides,
    freeze_word_embeddings,
    last_layer_cls_only,
)

logger = logging.getLogger(__name__)


def load_model_and_tokenizer(name: str, label_names: list[str], trust_remote_code: bool = False,
                             dropout: float | None = None):  # fmt: skip
    """The tokenizer and a classifier of `name` (a folder or Hub id) for `label_names` (id order: config.json's
    id2label, which pipeline() and the Hub's widget show), in fp32; with `dropout`, that probability in every dropout
    setting of its config. A checkpoint that already is a classifier of another number of labels gets a new head."""
    check_model_source(name)  # already made with the run's settings; again for those who load without (benchmarks)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
        overrides = {}
        if dropout is not None and not (overrides := dropout_overrides(config, dropout)):
            raise ProjectError(f"--dropout: {name}'s config ({type(config).__name__}) has no dropout setting; drop the flag")
        classifier = any(a.endswith("ForSequenceClassification") for a in config.architectures or ())
        if classifier and config.num_labels != len(label_names):
            logger.info("%s is a classifier of %d labels (%s): a new head of %d labels is trained", name, config.num_labels,
                        ", ".join(map(str, config.id2label.values())), len(label_names))  # fmt: skip
        model = AutoModelForSequenceClassification.from_pretrained(
            name,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={label: i for i, label in enumerate(label_names)},
            ignore_mismatched_sizes=classifier and config.num_labels != len(label_names),
            # transformers 5 keeps a checkpoint's stored dtype; train in fp32, mixed precision is the Trainer's job.
            dtype=torch.float32,
            use_safetensors=True,  # never unpickle a pytorch_model.bin: pickles can run code
            trust_remote_code=trust_remote_code,
            **overrides,
        )
    except ValueError as err:
        if "trust_remote_code" not in str(err):
            raise
        raise ProjectError(
            f"--model_name_or_path {name}: the model needs its own Python code to load, which is never run "
            "unless asked; pass --trust_remote_code if you trust that code"
        ) from None
    except OSError as err:
        if Path(name).is_dir():
            raise ProjectError(f"--model_name_or_path {name}: {str(err).splitlines()[0]}") from None
        raise ProjectError(f"--model_name_or_path {name}: {HUB_UNREACHABLE}") from None
    # The classification loss is a batch mean that ignores `num_items_in_batch`; the Trainer would otherwise scale
    # it up by the number of accumulation steps and devices (doubled gradients on 2 GPUs).
    model.accepts_loss_kwargs = False
    return model, tokenizer


def check_max_length(max_length: int, model, tokenizer) -> None:
    limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None) or max_length)
    if max_length > limit:
        raise ProjectError(f"--max_length {max_length}: above the model's limit of {limit} tokens; pass 3 to {limit}")


def check_tokenizer(name: str, model, tokenizer, reviews: list[str]) -> None:
    """A tokenizer that does not fit its model trains to chance without a word (every word [UNK]): refused in one line
    when its vocabulary is under half the model's embedding table, or when it maps most words of `reviews` (a sample
    of the training text) to its unknown token."""
    rows = model.get_input_embeddings().num_embeddings
    fix = "pass a folder holding the model's own tokenizer (tokenizer.save_pretrained(folder) with the model)"
    if len(tokenizer) < rows // 2:
        raise ProjectError(f"--model_name_or_path {name}: its tokenizer has {len(tokenizer)} tokens for the model's "
                           f"{rows} embeddings; {fix}")  # fmt: skip
    if tokenizer.unk_token_id is not None:
        ids = [i for row in tokenizer(reviews, add_special_tokens=False)["input_ids"] for i in row]
        unknown = ids.count(tokenizer.unk_token_id) / max(len(ids), 1)
        if unknown > 0.5:
            raise ProjectError(f"--model_name_or_path {name}: its tokenizer maps {unknown:.0%} of the tokens of "
                               f"{len(reviews)} training reviews to {tokenizer.unk_token}; {fix}")  # fmt: skip


def load_model(model_args, max_length: int, label_names: list[str]):
    """The run's model and tokenizer for `label_names`, checked against `max_length`, with the recipe's changes (the
    [CLS]-only last layer, frozen word embeddings) made. Seed the run first: the new classification head is initialised
    here."""
    model, tokenizer = load_model_and_tokenizer(model_args.model_name_or_path, label_names, model_args.trust_remote_code,
                                                model_args.dropout)  # fmt: skip
    check_max_length(max_length, model, tokenizer)
    # Saved with the tokenizer: pipeline(..., truncation=True) and inference.predict then cut reviews like training.
    tokenizer.model_max_length = max_length
    if model_args.last_layer_cls_only and not last_layer_cls_only(model):
        raise ProjectError(f"--last_layer_cls_only: {cls_only_refusal(model)}; pass --last_layer_cls_only false")
    if model_args.freeze_word_embeddings:
        logger.info("Word embeddings frozen: %d of %d parameters", freeze_word_embeddings(model), model.num_parameters())
    return model, tokenizer
