"""The last layer at [CLS] only (`--last_layer_cls_only`, the fast recipe): the full model's outputs and gradients."""

import copy

import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    ElectraConfig,
    ElectraModel,
    MPNetConfig,
    MPNetForSequenceClassification,
)
from transformers.models.bert.modeling_bert import BertLayer

from modeling import last_layer_cls_only

from .conftest import last_error_line, run_finetune, sha256

TINY = {  # dropout off: the two models then draw nothing random and must agree exactly
    "bert": lambda: BertForSequenceClassification(BertConfig(
        vocab_size=3000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)),
    "distilbert": lambda: DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=3000, dim=32, hidden_dim=64, n_layers=2, n_heads=2, dropout=0.0, attention_dropout=0.0,
        seq_classif_dropout=0.0)),
    "mpnet": lambda: MPNetForSequenceClassification(MPNetConfig(
        vocab_size=3000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)),
}  # fmt: skip
LAYERS = {"bert": "encoder", "distilbert": "transformer", "mpnet": "encoder"}


@pytest.mark.parametrize("padded", [True, False])  # without padding, sdpa gets no mask at all
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("model_type", TINY)
def test_the_cls_only_last_layer_trains_like_the_full_one_and_saves_the_same_files(model_type, attention, padded, tmp_path):
    if model_type == "mpnet" and attention == "sdpa":
        pytest.skip("MPNet computes its attention eagerly, whatever the config says")
    torch.manual_seed(0)
    full = TINY[model_type]()
    full.config._attn_implementation = attention
    cls_only = copy.deepcopy(full)
    assert last_layer_cls_only(cls_only)
    input_ids = torch.randint(1000, 2000, (4, 9))
    attention_mask = torch.ones_like(input_ids)
    if padded:  # the mask must follow the [CLS] query
        attention_mask[1, 5:], attention_mask[3, 2:] = 0, 0
    labels = torch.tensor([0, 1, 1, 0])
    outputs = [model.train()(input_ids=input_ids, attention_mask=attention_mask, labels=labels) for model in (full, cls_only)]
    for output in outputs:
        output.loss.backward()
    torch.testing.assert_close(outputs[1].logits, outputs[0].logits, rtol=0, atol=1e-6)
    for (name, a), (_, b) in zip(full.named_parameters(), cls_only.named_parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, rtol=0, atol=1e-6, msg=name)
    assert type(cls_only.base_model.get_submodule(LAYERS[model_type]).layer[-1]).__name__.endswith("ClsOnly")
    for name, model in {"full": full, "cls_only": cls_only}.items():
        model.save_pretrained(tmp_path / name)
    assert sha256(tmp_path / "full" / "model.safetensors") == sha256(tmp_path / "cls_only" / "model.safetensors")
    assert (tmp_path / "full" / "config.json").read_text() == (tmp_path / "cls_only" / "config.json").read_text()


@pytest.mark.parametrize("change", ["decoder", "attention"])
def test_a_decoder_or_another_attention_function_is_left_as_it_is(change):
    model = TINY["bert"]()
    if change == "decoder":  # causal: [CLS] attends to itself alone, which the cut mask would not keep
        model.config.is_decoder = True
    else:
        model.config._attn_implementation = "flex_attention"
    assert not last_layer_cls_only(model)
    assert type(model.bert.encoder.layer[-1]) is BertLayer


@pytest.mark.slow
def test_the_real_minilm_classifies_real_reviews_alike_with_the_cls_only_last_layer(minilm_dir, tokenizer, sst2_dir):
    reviews = [line.split("\t")[0] for line in (sst2_dir / "dev.tsv").read_text().splitlines()[1:65]]
    batch = tokenizer(reviews, padding=True, truncation=True, max_length=80, return_tensors="pt")
    torch.manual_seed(0)
    full = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=2).eval()
    cls_only = copy.deepcopy(full)
    assert last_layer_cls_only(cls_only)
    with torch.no_grad():
        logits = [model(**batch).logits for model in (full, cls_only)]
    assert batch["attention_mask"].float().mean() < 0.7  # padding to mask, not a full batch
    torch.testing.assert_close(logits[1], logits[0], rtol=0, atol=1e-5)


def test_a_model_it_was_not_built_for_is_refused_in_one_line_and_the_way_out_works(tmp_path, tokenizer, sst2_dir):
    model_dir = tmp_path / "tiny-electra"
    ElectraModel(ElectraConfig(vocab_size=tokenizer.vocab_size, embedding_size=32, hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64)).save_pretrained(model_dir)  # fmt: skip
    tokenizer.save_pretrained(model_dir)
    result = run_finetune("--config", "recipes/fast.yaml", "--model_name_or_path", str(model_dir), "--data_dir",
                          str(sst2_dir), "--output_dir", str(tmp_path / "run"))  # fmt: skip
    assert result.returncode == 1
    assert last_error_line(result) == ("run_finetune.py: error: --last_layer_cls_only: built for the encoders of transformers' "
                                       "BertForSequenceClassification and DistilBertForSequenceClassification and "
                                       "MPNetForSequenceClassification with sdpa or eager "
                                       "attention, this model is ElectraForSequenceClassification with sdpa attention; "
                                       "pass --last_layer_cls_only false")  # fmt: skip
    # The way out it names works in the same folder: the refused run wrote nothing that stands in its way.
    result = run_finetune("--config", "recipes/fast.yaml", "--model_name_or_path", str(model_dir), "--data_dir",
                          str(sst2_dir), "--output_dir", str(tmp_path / "run"), "--last_layer_cls_only", "false",
                          "--sample_fraction", "0.1", "--max_steps", "1", "--eval_strategy", "no")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "all_results.json").is_file()
