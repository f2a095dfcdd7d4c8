"""One batch shape (`--fill_last_batch`) and the captured training step (`--cuda_graph_step`), on a CPU: the filled last
batch takes the smaller batch's step, evaluation never counts the filler rows, the captured step's code trains like
the Trainer's own step when run eagerly, and without CUDA it refuses in one line. The capture itself needs a GPU:
`bash benchmarks/gpu.sh` (docs/benchmarks.md)."""

import copy
import json
from dataclasses import fields, replace

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from errors import ProjectError
from run_folder import check_rerun, run_settings
from sst_data import notebook_sample, tokenize_reviews
from training import fit, parse_args, read_recipe, setup
from training.recipes import DATACLASSES
from training.static_shapes import (
    AdamWOfTheStep,
    FilledBatchCollator,
    FilledBatchTrainer,
    GraphedStepTrainer,
    graphed_step_refusal,
)

from .conftest import ROOT, last_error_line, load_folder, run_finetune, train_run

NO_DROPOUT = {"dropout": 0.0, "attention_dropout": 0.0, "seq_classif_dropout": 0.0}


def one_step(model, batch) -> tuple[float, dict, dict]:
    """The notebook's step on `batch`: loss, backward, clipping at 1.0, AdamW; the loss, gradients and new weights."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, eps=1e-8, weight_decay=0.0)
    model.train()
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    gradients = {name: p.grad.clone() for name, p in model.named_parameters()}
    optimizer.step()
    return loss.item(), gradients, {name: p.detach().clone() for name, p in model.named_parameters()}


def test_a_filled_last_batch_takes_the_smaller_batchs_step(sst2_dir, tiny_model_dir, tokenizer, tmp_path):
    """22 reviews (the notebook's last batch of an epoch: 2422 = 75 × 32 + 22), as they are and filled to 32 rows:
    the same loss, gradients and updated weights, to float tolerance."""
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    features = list(tokenize_reviews(sample.select(range(22)), tokenizer, max_length=80).remove_columns("review"))
    pad_to_80 = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=80)
    smaller, filled = pad_to_80(features), FilledBatchCollator(pad_to_80, 32)(features)
    assert smaller["input_ids"].shape == (22, 80) and filled["input_ids"].shape == (32, 80)
    for key in smaller:  # the real rows first, unchanged
        assert torch.equal(filled[key][:22], smaller[key]), key
    empty = tokenizer("")["input_ids"]  # [CLS] [SEP], then padding; no loss
    assert filled["input_ids"][22:, :2].tolist() == [empty] * 10 and not filled["input_ids"][22:, 2:].any()
    assert filled["attention_mask"][22:].sum(1).tolist() == [2] * 10 and filled["labels"][22:].tolist() == [-100] * 10
    assert FilledBatchCollator(pad_to_80, 22)(features)["input_ids"].shape == (22, 80)  # a full batch: as it is

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2, **NO_DROPOUT)
    start = copy.deepcopy(model.state_dict())
    loss, gradients, weights = one_step(model, smaller)
    model.load_state_dict(start)
    model.zero_grad(set_to_none=True)
    filled_loss, filled_gradients, filled_weights = one_step(model, filled)
    assert filled_loss == pytest.approx(loss, rel=1e-6)
    for name in gradients:
        torch.testing.assert_close(filled_gradients[name], gradients[name], rtol=1e-5, atol=1e-8, msg=name)
        torch.testing.assert_close(filled_weights[name], weights[name], rtol=1e-5, atol=1e-8, msg=name)
    assert any(not torch.equal(weights[name], start[name]) for name in start)  # the step moved the weights


def small_run(tiny_model_dir, sst2_dir, output_dir, *flags: str):
    """5% of train.tsv (242 training rows: 7 batches of 32 and one of 18; 104 validation rows: 3 of 32 and one of 8),
    padded to 80, dropout off, fused AdamW, 2 epochs."""
    return parse_args(["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir), "--output_dir",
                       str(output_dir), "--sample_fraction", "0.05", "--padding", "max_length", "--dropout", "0",
                       "--num_train_epochs", "2", "--learning_rate", "1e-3", "--optim", "adamw_torch_fused",
                       "--logging_strategy", "steps", "--logging_steps", "1", "--save_strategy", "no", *flags])  # fmt: skip


def trained(arguments, trainer_class=None, **options):
    """The run's Trainer (or the same Trainer's settings in `trainer_class`), trained; and its tokenized splits."""
    run = setup(arguments)
    trainer = run.trainer
    if trainer_class is not None:
        trainer = trainer_class(model=trainer.model, args=trainer.args, train_dataset=trainer.train_dataset,
                                eval_dataset=trainer.eval_dataset, processing_class=trainer.processing_class,
                                data_collator=trainer.data_collator, compute_metrics=trainer.compute_metrics, **options)  # fmt: skip
    fit(trainer, None, run.runtime)
    return trainer, run.tokenized


def history(trainer, key: str) -> list[float]:
    return [entry[key] for entry in trainer.state.log_history if key in entry]


@pytest.mark.slow
def test_filled_batches_train_and_evaluate_like_unfilled_ones(tiny_model_dir, sst2_dir, tmp_path):
    """Through the Trainer: the same weights, losses and gradient norms; validation and the dev split's predictions,
    accuracy and loss equal, labelled or not: the filler rows are never counted."""
    plain, tokenized = trained(small_run(tiny_model_dir, sst2_dir, tmp_path / "plain"))
    filled, _ = trained(small_run(tiny_model_dir, sst2_dir, tmp_path / "filled", "--fill_last_batch", "true"))
    assert type(filled) is FilledBatchTrainer and type(plain) is not FilledBatchTrainer
    batch = next(iter(filled.get_train_dataloader()))
    assert batch["input_ids"].shape == (32, 80)
    last = list(filled.get_eval_dataloader())[-1]
    assert last["input_ids"].shape == (32, 80) and (last["labels"] == -100).sum() == 24  # 104 = 3 × 32 + 8

    assert filled.state.global_step == plain.state.global_step == 16
    for name, weight in plain.model.state_dict().items():
        torch.testing.assert_close(filled.model.state_dict()[name], weight, rtol=1e-4, atol=1e-6, msg=name)
    for key in ("loss", "grad_norm", "eval_loss"):
        assert history(filled, key) == pytest.approx(history(plain, key), rel=1e-4), key
    assert history(filled, "eval_accuracy") == history(plain, "eval_accuracy")
    assert history(filled, "eval_samples") == history(plain, "eval_samples") == [104, 104]

    for dataset in (tokenized["dev"], tokenized["dev"].remove_columns("label")):  # 872 = 27 × 32 + 8; unlabelled too
        expected, got = plain.predict(dataset, metric_key_prefix="dev"), filled.predict(dataset, metric_key_prefix="dev")
        assert got.predictions.shape == expected.predictions.shape == (872, 2)
        np.testing.assert_allclose(got.predictions, expected.predictions, rtol=1e-4, atol=1e-5)
        assert (got.predictions.argmax(-1) == expected.predictions.argmax(-1)).all()
        if "label" in dataset.column_names:
            assert (got.label_ids == expected.label_ids).all() and (got.label_ids >= 0).all()
            assert got.metrics["dev_accuracy"] == expected.metrics["dev_accuracy"]
            assert got.metrics["dev_loss"] == pytest.approx(expected.metrics["dev_loss"], rel=1e-5)


def test_the_captured_steps_code_trains_like_the_trainers_own_step(tiny_model_dir, sst2_dir, tmp_path):
    """`GraphedStepTrainer` without capture runs the very step the graph records (its own AdamW, learning rate tensors,
    clipping, the Trainer's optimizer step a no-op) eagerly, on a CPU: the same run as the Trainer's own step."""
    flags = ("--fill_last_batch", "true")
    own, _ = trained(small_run(tiny_model_dir, sst2_dir, tmp_path / "own", *flags))
    stepped, _ = trained(small_run(tiny_model_dir, sst2_dir, tmp_path / "stepped", *flags), GraphedStepTrainer,
                         capture=False)  # fmt: skip
    assert isinstance(stepped.optimizer.optimizer, AdamWOfTheStep) and stepped.graph is None
    assert all(group["capturable"] and group["fused"] for group in stepped.optimizer.optimizer.param_groups)
    for name, weight in own.model.state_dict().items():
        torch.testing.assert_close(stepped.model.state_dict()[name], weight, rtol=1e-5, atol=1e-7, msg=name)
    for key in ("loss", "grad_norm", "learning_rate", "eval_loss", "eval_accuracy"):
        assert history(stepped, key) == pytest.approx(history(own, key), rel=1e-5), key
    assert stepped.optimizer.optimizer.state[next(stepped.model.parameters())]["step"].item() == 16


def test_the_captured_step_refuses_without_cuda_and_what_it_cannot_capture(tiny_model_dir, sst2_dir, tmp_path):
    run = setup(small_run(tiny_model_dir, sst2_dir, tmp_path / "run", "--fill_last_batch", "true"))
    with pytest.raises(ProjectError) as err:
        GraphedStepTrainer(model=run.trainer.model, args=run.trainer.args, train_dataset=run.trainer.train_dataset,
                           eval_dataset=run.trainer.eval_dataset)
    assert str(err.value) == ("--cuda_graph_step: captures the training step as a CUDA graph, and no CUDA GPU is in use; "
                              "drop the flag")  # fmt: skip
    args = run.trainer.args
    assert graphed_step_refusal(args, capture=False) is None
    for changed, reason in [
        ({"gradient_accumulation_steps": 2}, "one batch a step, not 2; drop --gradient_accumulation_steps"),
        ({"optim": "adamw_torch"}, "captures fused AdamW, and --optim is adamw_torch; pass --optim adamw_torch_fused"),
        ({"torch_compile": True}, "already a CUDA graph; drop --torch_compile"),
    ]:
        assert graphed_step_refusal(replace(args, **changed), capture=False) == reason


def test_one_shape_is_refused_where_it_cannot_hold_in_one_line(tiny_model_dir, sst2_dir, tmp_path):
    # Without a GPU, from the command line and the recipe, before anything loads.
    for flags, line in [
        (["--cuda_graph_step", "true"], ("run_finetune.py: error: --cuda_graph_step: captures the training step as a "
                                         "CUDA graph, and no CUDA GPU is visible; drop the flag (on a CPU: recipes/fast.yaml)")),
        (["--config", str(ROOT / "recipes" / "fast-graphs.yaml")], "--gpu_mode on: no CUDA GPU is visible"),
    ]:  # fmt: skip
        result = run_finetune("--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir),
                              "--output_dir", str(tmp_path / "out"), *flags)  # fmt: skip
        assert line in last_error_line(result) and len(result.stderr.strip().splitlines()) == 1, result.stderr[-2000:]
    assert not (tmp_path / "out").exists()
    # Filling rows gives one shape only with one length.
    with pytest.raises(ProjectError) as err:
        train_run(["--model_name_or_path", tiny_model_dir, "--data_dir", sst2_dir, "--output_dir", tmp_path / "o2",
                   "--fill_last_batch", "true"])  # fmt: skip
    assert str(err.value) == "--fill_last_batch: fills the rows of a batch, not its length; also pass --padding max_length"


def test_the_graphs_recipe_is_fast_gpu_with_one_shape_and_the_captured_step():
    known = {f.name for dataclass_type in DATACLASSES for f in fields(dataclass_type)}
    graphs, fast_gpu = (read_recipe(ROOT / "recipes" / name, known) for name in ("fast-graphs.yaml", "fast-gpu.yaml"))
    assert graphs == fast_gpu | {"fill_last_batch": True, "cuda_graph_step": True, "output_dir": "outputs/fast-graphs"}
    assert fast_gpu["padding"] == "max_length" and fast_gpu["gpu_mode"] == "on"


def test_a_run_records_both_settings_and_older_runs_count_as_without_them(tiny_model_dir, sst2_dir, tmp_path):
    """They define the result (another batch shape may reorder sums): a run with either is another run; a run recorded
    before they existed filled nothing and captured nothing, the same run as one without them."""
    base = ["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir), "--output_dir", str(tmp_path / "run"),
            "--padding", "max_length"]  # fmt: skip
    current = run_settings(*parse_args(base))
    assert current["fill_last_batch"] is False and current["cuda_graph_step"] is False
    older = {key: value for key, value in current.items() if key not in ("fill_last_batch", "cuda_graph_step")}
    (tmp_path / "run" / "checkpoint-8").mkdir(parents=True)  # something to resume: the settings are compared
    (tmp_path / "run" / "run_settings.json").write_text(json.dumps(older))
    check_rerun(tmp_path / "run", current)
    with pytest.raises(ProjectError, match=r"other settings \(fill_last_batch false → true\)"):
        check_rerun(tmp_path / "run", run_settings(*parse_args([*base, "--fill_last_batch", "true"])))
