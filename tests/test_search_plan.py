"""A search planned (studies/search/plan.py, studies/space.py, studies/plan.py): every bad space, search argument,
owned flag and unreachable storage refused in one line before anything is written; the shipped space valid."""


import pytest

from errors import ProjectError
from studies.space import read_space
from training import parse_args

from .conftest import ROOT, free_port, planned, run_flags, run_search_cli, search, search_argv

BAD_SPACES = {
    "learning_rat: {type: float, low: 1.0e-5, high: 1.0e-4}": "learning_rat: not a flag of run_finetune.py --help",
    "learning_rate: {type: uniform, low: 1.0e-5, high: 1.0e-4}": "learning_rate: type 'uniform': unknown",
    "learning_rate: {type: float, low: 1.0e-3, high: 1.0e-4}": "learning_rate: low 0.001 > high 0.0001: an empty range",
    "learning_rate: {type: float, low: 0.0, high: 1.0e-4, log: true}": "learning_rate: log: true needs low > 0",
    "learning_rate: {type: float, low: 0.0, high: 1.0e-4}": "learning_rate: 0.0 is refused: --learning_rate 0.0: must be > 0",
    "weight_decay: {type: float, low: -0.1, high: 0.1}": "weight_decay: -0.1 is refused: --weight_decay -0.1: must be >= 0",
    "learning_rate: {type: float, low: 1e-5, high: 1.0e-4}": "learning_rate: low '1e-5': not a number (YAML reads 1e-5 as text",
    "learning_rate: {type: float, low: 1.0e-5}": "learning_rate: high: missing",
    "learning_rate: {type: float, low: 1.0e-5, hgh: 1.0e-4}": "learning_rate: unknown key 'hgh' for type float",
    "learning_rate: {type: float, low: 1.0e-5, high: [": "not valid YAML",
    "- learning_rate": "not a YAML mapping of flags to distributions",
    "": "not a YAML mapping of flags to distributions",
    "learning_rate: 2.0e-5": "learning_rate: not a distribution",
    "per_device_train_batch_size: {type: float, low: 8, high: 64}": "per_device_train_batch_size: type float: the setting takes int values",
    "per_device_train_batch_size: {type: int, low: 0, high: 64}": "per_device_train_batch_size: 0 is refused: --per_device_train_batch_size 0: must be an integer >= 1",
    "per_device_train_batch_size: {type: categorical, choices: [16, '32']}": "per_device_train_batch_size: choice '32': the setting takes int values",
    "per_device_train_batch_size: {type: categorical, choices: [16, 16]}": "a choice is given twice",
    "per_device_train_batch_size: {type: categorical, choices: []}": "choices: give a non-empty list",
    "num_train_epochs: {type: int, low: 1.5, high: 3}": "num_train_epochs: low 1.5: type int takes integers",
    "warmup_steps: {type: float, low: 0.0, high: 2.0}": "warmup_steps: low 0.0 and high 2.0 mix a ratio",
    "lr_scheduler_type: {type: categorical, choices: [linear, sideways]}": "lr_scheduler_type: 'sideways' is refused: sideways is not a valid SchedulerType",
    "padding: {type: categorical, choices: [longest, shortest]}": "padding: 'shortest': not one of longest, max_length",
    "lr_scheduler_kwargs: {type: categorical, choices: [a]}": "lr_scheduler_kwargs: takes a mapping or a list",
    "output_dir: {type: categorical, choices: [a, b]}": "output_dir: cannot be searched: the study gives each run its own folder",
    "seed: {type: int, low: 1, high: 9}": "seed: cannot be searched: the study sets it for each run (a seed study varies it; a search over seeds selects luck",
    "validation_fraction: {type: float, low: 0.2, high: 0.4}": "validation_fraction: cannot be searched: it changes the validation rows",
    "logging_steps: {type: int, low: 1, high: 9}": "logging_steps: does not change a run's result",
}


@pytest.mark.parametrize("text", BAD_SPACES)
def test_a_bad_space_is_refused_in_one_line_before_anything_is_written(text, tiny_model_dir, sst2_dir, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(text + "\n")
    with pytest.raises(ProjectError) as refused:
        planned(search_argv(tmp_path / "out", space, run_flags(tiny_model_dir, sst2_dir)))
    message = str(refused.value)
    assert message.startswith(f"--space {space}: ") and "\n" not in message
    assert BAD_SPACES[text] in message, message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--learning_rate", "3e-5"], "--learning_rate: the search space"),
        (["--overwrite_output_dir"], "--overwrite_output_dir: the study resumes or keeps each run's folder itself"),
        (["--push_to_hub"], "--push_to_hub: a study's runs are not published"),
        (["--trials", "0"], "--trials 0: at least 1"),
        (["--seeds", "5"], "--seeds 5: a study needs at least 2 seeds"),
        (["--baseline", "missing/seeds.json"], "--baseline missing/seeds.json: cannot read it"),
        (["--storage", "search.db"], "--storage search.db: not a database URL"),
        (["--model_name_or_path", "missing/model/folder"], "--model_name_or_path missing/model/folder: folder not found"),
    ],
)
def test_bad_search_arguments_are_refused_in_one_line_before_anything_is_written(
    extra, message, space_file, tiny_model_dir, sst2_dir, tmp_path
):
    argv = search_argv(tmp_path / "out", space_file, run_flags(tiny_model_dir, sst2_dir)) + extra
    with pytest.raises(ProjectError) as refused:
        search(argv)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value), str(refused.value)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_database_is_one_line_without_its_password(space_file, tiny_model_dir, sst2_dir, tmp_path):
    url = f"postgresql://sst2:s3cret@127.0.0.1:{free_port()}/search"
    with pytest.raises(ProjectError) as refused:
        search(
            search_argv(
                tmp_path / "out", space_file, run_flags(tiny_model_dir, sst2_dir), 3, ("none",), "--storage", url
            )
        )
    message = str(refused.value)
    assert message.startswith(f"--storage postgresql://sst2:***@127.0.0.1:{url.split(':')[3]}: cannot open it (")
    assert "s3cret" not in message and "\n" not in message and "check that the server runs" in message
    assert not (tmp_path / "out").exists()


def test_the_notebook_space_is_valid_and_the_default_confirmation_seeds_follow_the_recipes(
    tiny_model_dir, sst2_dir, tmp_path
):
    flags = ["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir)]
    plan = planned(["--output_dir", str(tmp_path / "out"), *flags])
    assert list(plan.space) == [
        "learning_rate",
        "num_train_epochs",
        "per_device_train_batch_size",
        "warmup_steps",
        "weight_decay",
    ]
    assert plan.seeds == [43, 44, 45, 46, 47] and plan.trials == 20 and plan.sampler_name == "random (seed 42)"
    assert plan.study_name == "out" and not (tmp_path / "out").exists()
    assert read_space(ROOT / "recipes/search/notebook.yaml", parse_args(flags))["warmup_steps"].high < 1


@pytest.mark.slow
def test_the_command_line_refuses_in_one_line_and_writes_nothing(space_file, tiny_model_dir, sst2_dir, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {type: float, low: 0.0, high: 1.0e-4}\n")
    result = run_search_cli(*search_argv(tmp_path / "out", space, run_flags(tiny_model_dir, sst2_dir)))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"run_search.py: error: --space {space}: learning_rate: 0.0 is refused: --learning_rate 0.0: must be > 0"
    )
    assert not (tmp_path / "out").exists()
    assert run_search_cli("--help").returncode == 0
