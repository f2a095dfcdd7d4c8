"""Changes to what training computes, for a recipe of their own (never the notebook's): the dropout probability and
frozen word embeddings. Each costs its own accuracy row in docs/lab-notes.md ("Changing the math"); transformers has a setting for neither
across models (dropout goes by a different name in each config), hence these two helpers."""


def dropout_overrides(config, probability: float) -> dict:
    """`probability` for every dropout setting of `config` that holds one (BERT: hidden_dropout_prob,
    attention_probs_dropout_prob; DistilBERT: dropout, attention_dropout, seq_classif_dropout, qa_dropout; GPT-2:
    resid_pdrop, embd_pdrop, attn_pdrop, summary_first_dropout), as keyword arguments for `from_pretrained`: the model
    is built with them and its saved config.json says what it trained with. A setting left at None (BERT's
    classifier_dropout) falls back to one of these. Layer drop (BART's encoder_layerdrop) is another setting."""
    return {key: probability for key, value in config.to_dict().items()
            if ("dropout" in key or key.endswith("pdrop")) and isinstance(value, float)}  # fmt: skip


def freeze_word_embeddings(model) -> int:
    """Keep `model`'s word embeddings as pretrained: no gradient, so no dense gradient of the whole vocabulary, no
    clipping over it and no optimizer state or update (the Trainer optimizes trainable parameters only). The
    number of parameters frozen."""
    embeddings = model.get_input_embeddings().weight
    embeddings.requires_grad_(False)
    return embeddings.numel()
