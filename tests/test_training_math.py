"""The fastest recipe's changes to the training math: no dropout (`--dropout 0`) and frozen word embeddings."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForSequenceClassification, GPT2Config, PretrainedConfig

from errors import ProjectError
from modeling import dropout_overrides
from training import parse_args

from .conftest import ROOT, run_finetune


def test_the_fastest_recipe_is_the_fast_recipe_without_dropout_and_with_frozen_word_embeddings():
    model_args, _, args = parse_args(["--config", str(ROOT / "recipes" / "fastest.yaml")])
    assert model_args.dropout == 0.0 and model_args.freeze_word_embeddings
    assert model_args.last_layer_cls_only and args.train_sampling_strategy == "group_by_length"  # from fast.yaml
    assert args.output_dir == "outputs/fastest"
    for recipe in ("notebook.yaml", "fast.yaml"):  # the notebook's model: its dropout, every weight trained
        model_args, _, _ = parse_args(["--config", str(ROOT / "recipes" / recipe)])
        assert model_args.dropout is None and not model_args.freeze_word_embeddings


def test_every_dropout_setting_of_each_model_family_is_found(minilm_dir, tiny_model_dir):
    assert dropout_overrides(AutoConfig.from_pretrained(minilm_dir), 0.0) == {
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0  # classifier_dropout: None, falls back
    }  # fmt: skip
    assert dropout_overrides(AutoConfig.from_pretrained(tiny_model_dir), 0.05) == {
        "dropout": 0.05, "attention_dropout": 0.05, "seq_classif_dropout": 0.05, "qa_dropout": 0.05  # qa: unused here
    }  # fmt: skip
    assert dropout_overrides(GPT2Config(), 0.0) == {  # another naming: none may be missed, or dropout stays on
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "summary_first_dropout": 0.0
    }  # fmt: skip
    assert dropout_overrides(PretrainedConfig(), 0.0) == {}  # run_finetune refuses --dropout for such a model


def test_dropout_outside_0_to_1_is_refused_while_parsing():
    with pytest.raises(ProjectError) as err:
        parse_args(["--dropout", "1"])
    assert str(err.value) == "--dropout 1.0: must be in [0, 1)"


def test_a_fastest_run_trains_without_dropout_and_keeps_the_pretrained_word_embeddings(tiny_model_dir, sst2_dir, tmp_path):
    run_dir = tmp_path / "run"
    result = run_finetune("--config", "recipes/fastest.yaml", "--model_name_or_path", str(tiny_model_dir), "--data_dir",
                          str(sst2_dir), "--output_dir", str(run_dir), "--sample_fraction", "0.1", "--num_train_epochs",
                          "1", "--learning_rate", "1e-3", "--disable_tqdm", "true")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Word embeddings frozen: 976704 of " in result.stdout  # 30522 x 32
    pretrained, trained = load_file(tiny_model_dir / "model.safetensors"), load_file(run_dir / "model.safetensors")
    key = "distilbert.embeddings.word_embeddings.weight"
    assert torch.equal(trained[key], pretrained[key.removeprefix("distilbert.")])
    moved = [k for k in pretrained if not torch.equal(trained["distilbert." + k], pretrained[k])]
    assert "embeddings.position_embeddings.weight" in moved and len(moved) == len(pretrained) - 1  # all else trained

    card = (run_dir / "README.md").read_text()  # the card says so too
    assert "| dropout | 0 (every dropout setting) |" in card and "| word embeddings | frozen (as pretrained) |" in card

    # The saved config says what it trained with: no dropout anywhere. In training mode it draws nothing random.
    model = AutoModelForSequenceClassification.from_pretrained(run_dir)
    assert (model.config.dropout, model.config.attention_dropout, model.config.seq_classif_dropout) == (0.0, 0.0, 0.0)
    batch = {"input_ids": torch.tensor([[101, 2023, 3185, 2001, 2307, 102]]), "attention_mask": torch.ones(1, 6, dtype=torch.long)}
    model.train()
    torch.testing.assert_close(model(**batch).logits, model(**batch).logits, rtol=0, atol=0)
    default = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).train()  # its 0.1 dropout draws
    assert not torch.equal(default(**batch).logits, default(**batch).logits)
