"""The recipes (training/recipes.py, recipes/*.yaml): the notebook's settings, the fast and GPU recipes built on it, a
flag on the command line over the recipe's, and every unusable recipe refused in one line naming it."""

import pytest
import torch

from errors import ProjectError
from training import parse_args
from training.recipes import reproduce_flags

from .conftest import ROOT
from .conftest import run_finetune as run_script


def test_recipe_holds_the_notebook_settings_and_flags_override_it():
    model_args, data_args, args = parse_args([])
    assert model_args.model_name_or_path == "distilbert-base-uncased"
    assert (data_args.sample_fraction, data_args.sample_seed, data_args.validation_fraction) == (0.5, 42, 0.3)
    assert (data_args.split_seed, args.data_seed) == (42, 42)
    assert data_args.max_length == 80
    assert (args.learning_rate, args.adam_epsilon, args.weight_decay) == (2e-5, 1e-8, 0.0)
    assert (args.per_device_train_batch_size, args.per_device_eval_batch_size) == (32, 32)
    assert (args.num_train_epochs, args.max_grad_norm, args.warmup_steps, args.seed) == (4, 1.0, 0, 42)
    assert args.optim == "adamw_torch" and args.lr_scheduler_type == "linear"
    assert args.eval_strategy == "epoch" and args.logging_strategy == "epoch"
    _, data_args, args = parse_args(["--num_train_epochs", "2", "--max_length", "64"])
    assert (args.num_train_epochs, data_args.max_length, args.learning_rate) == (2, 64, 2e-5)


def test_fast_recipe_builds_on_the_notebook_recipe():
    model_args, data_args, args = parse_args(["--config", str(ROOT / "recipes" / "fast.yaml")])
    assert args.train_sampling_strategy == "group_by_length" and args.optim == "adamw_torch_fused"
    assert model_args.last_layer_cls_only and not parse_args([]).model.last_layer_cls_only  # fast only
    assert (args.learning_rate, args.num_train_epochs, args.per_device_train_batch_size) == (2e-5, 4, 32)  # from its base
    assert data_args.padding == "longest" and args.output_dir == "outputs/fast"


def test_notebook_recipe_is_fp32_everywhere_and_the_fast_recipe_uses_a_gpu_when_there_is_one():
    _, _, notebook = parse_args([])
    assert notebook.gpu_mode == "off" and not notebook.bf16 and notebook.optim == "adamw_torch"
    _, _, fast = parse_args(["--config", str(ROOT / "recipes" / "fast.yaml")])
    on_gpu = torch.cuda.is_available()
    assert fast.gpu_mode == "auto" and fast.bf16 == bool(fast.tf32) == on_gpu  # never bf16 on a CPU
    if on_gpu:
        assert parse_args(["--gpu_mode", "on"]).training.bf16
    else:
        with pytest.raises(ProjectError, match=r"^--gpu_mode on: no CUDA GPU is visible; on a CPU train with "
                                               r"recipes/fast.yaml \(or pass --gpu_mode auto\)$"):  # fmt: skip
            parse_args(["--gpu_mode", "on"])


def test_the_gpu_recipe_is_the_fast_recipe_padded_to_80_and_refuses_a_machine_without_a_gpu():
    recipe = ["--config", str(ROOT / "recipes" / "fast-gpu.yaml")]
    if torch.cuda.is_available():
        _, data_args, args = parse_args(recipe)
        assert data_args.padding == "max_length" and args.bf16 and args.train_sampling_strategy == "group_by_length"
    else:
        with pytest.raises(ProjectError, match="fast-gpu.yaml: --gpu_mode on: no CUDA GPU is visible; on a CPU train with "
                                               "recipes/fast.yaml"):  # fmt: skip
            parse_args(recipe)
        _, data_args, args = parse_args([*recipe, "--gpu_mode", "auto"])  # what it is, short of the GPU
        assert data_args.padding == "max_length" and args.output_dir == "outputs/fast-gpu"
        assert args.optim == "adamw_torch_fused" and args.per_device_eval_batch_size == 128  # from fast.yaml


@pytest.mark.parametrize(
    "recipe_text, message",
    [
        ("learning_rate: 1.0e-4\nlearning_rat: 3\n", "unknown key 'learning_rat'; keys are the flags of --help"),
        ("- a list\n", "not a YAML mapping of argument names to values"),
        ("learning_rate: [1\n", "not valid YAML"),
        (None, "recipe file not found; pass a YAML file such as recipes/notebook.yaml"),
        ("gpu_mode: on\n", ("argument --gpu_mode: invalid choice: 'true' (choose from 'auto', 'on', 'off') "
                             "(YAML reads a bare on/off/yes/no as true/false: quote it)")),
        ("padding: longestt\n", "argument --padding: invalid choice: 'longestt' (choose from 'longest', 'max_length')"),
        ("num_train_epochs: four\n", "argument --num_train_epochs: invalid float value: 'four'"),
        (f"base: {ROOT}/recipes/notebook.yaml\nlearning_rate: -1\n", "--learning_rate -1.0: must be > 0"),
        ("seed:\n", "seed: no value; give one, or remove the line for the default"),
    ],
)
def test_unusable_recipe_is_refused_saying_why(tmp_path, recipe_text, message):
    recipe = tmp_path / "recipe.yaml"
    if recipe_text is not None:
        recipe.write_text(recipe_text)
    with pytest.raises(ProjectError) as err:
        parse_args(["--config", str(recipe)])
    assert str(err.value).startswith(f"--config {recipe}: {message}")


def test_a_missing_base_recipe_names_the_recipe_that_refers_to_it(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("base: notebok.yaml\n")
    with pytest.raises(ProjectError) as err:
        parse_args(["--config", str(recipe)])
    assert str(err.value) == f"--config {recipe}: base: {tmp_path}/notebok.yaml: recipe file not found; fix the base: line"


def test_a_flag_on_the_command_line_is_blamed_on_itself_not_on_the_recipe(tmp_path):
    with pytest.raises(ProjectError) as err:
        parse_args(["--num_train_epochs", "four"])  # the notebook recipe sets it too
    assert str(err.value) == "argument --num_train_epochs: invalid float value: 'four'"


def test_recipe_without_a_required_setting_names_it_in_one_line(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("\n".join(line for line in (ROOT / "recipes" / "notebook.yaml").read_text().splitlines()
                                if not line.startswith("max_length:")))  # fmt: skip
    result = run_script("--config", str(recipe))
    assert result.returncode == 1 and "usage:" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "run_finetune.py: error: the following arguments are required: --max_length; set them in the recipe "
        f"(--config {recipe}) or on the command line"
    )


def test_the_card_command_is_of_the_recipe_as_parsed_not_as_edited_afterwards(tmp_path):
    """The recipe is read once, when the arguments are parsed, and kept with them: a recipe edited while the run
    trains (or after) does not change the command its card shows."""
    base, recipe = tmp_path / "base.yaml", tmp_path / "recipe.yaml"
    base.write_text((ROOT / "recipes" / "notebook.yaml").read_text())
    recipe.write_text("base: base.yaml\nlearning_rate: 3.0e-5\n")
    arguments = parse_args(["--config", str(recipe), "--output_dir", str(tmp_path / "out")])
    shown = reproduce_flags(arguments)
    assert "--learning_rate" not in shown  # the recipe's own value: the recipe says it
    recipe.write_text("base: base.yaml\nlearning_rate: 5.0e-5\n")
    base.write_text(base.read_text().replace("num_train_epochs: 4", "num_train_epochs: 2"))
    assert reproduce_flags(arguments) == shown
    assert arguments.replace(seed=7).recipe == arguments.recipe  # a study's runs keep it too
    assert "--learning_rate" in reproduce_flags(parse_args(["--config", str(recipe), "--learning_rate", "3e-5"]))
