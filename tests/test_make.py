"""The Makefile's commands as the shell receives them (`make -n`, over a stand-in .venv whose install stamps are
fresh, so that only each target's own command prints): every path a user passes reaches the script as one argument,
spaces and all; and a venv made by `make install-test` is not installed again by a target that needs less."""

import shlex
import shutil
import subprocess

import pytest

from .conftest import ROOT

SPACED = "my folder/with spaces"


@pytest.fixture()
def venv(tmp_path):
    """A stand-in .venv whose stamps `make install-test` made, with `pip` replaced by a marker that says it ran."""
    folder = tmp_path / "venv"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").touch()
    result = make(folder, "install-test", dry_run=False)
    assert result.returncode == 0 and result.stdout.count("PIP-RUNS") == 2, result.stdout + result.stderr
    return folder


def make(venv, *args, dry_run=True) -> subprocess.CompletedProcess:
    command = ["make", "-n" if dry_run else "-s", f"VENV={venv}", "PIP=echo PIP-RUNS", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def arguments(output: str) -> list[str]:
    """The words the shell makes of make's printed commands."""
    return shlex.split(output.replace("\\\n", " "))


def test_export_and_predict_after_install_test_install_nothing(venv):
    for target in ("export", "predict", "install-onnx", "reproduce", "test"):
        result = make(venv, target, "DATA_DIR=d", "INPUT=x.txt", "BACKEND=onnx")
        assert result.returncode == 0 and "PIP-RUNS" not in result.stdout, (target, result.stdout + result.stderr)


@pytest.mark.parametrize(
    ("target", "variables"),
    [
        ("reproduce", {"RECIPE": "--config", "MODEL": "--model_name_or_path", "DATA_DIR": "--data_dir",
                       "OUTPUT_DIR": "--output_dir", "ACCELERATE_CONFIG": "--config_file"}),
        ("seeds", {"RECIPE": "--config", "MODEL": "--model_name_or_path", "DATA_DIR": "--data_dir",
                   "OUTPUT_DIR": "--output_dir"}),
        ("search", {"RECIPE": "--config", "MODEL": "--model_name_or_path", "DATA_DIR": "--data_dir",
                    "OUTPUT_DIR": "--output_dir", "SPACE": "--space", "BASELINE": "--baseline"}),
        ("distill", {"RECIPE": "--config", "MODEL": "--model_name_or_path", "DATA_DIR": "--data_dir",
                     "OUTPUT_DIR": "--output_dir", "TEACHER": "--teacher"}),
        ("push", {"OUTPUT_DIR": "--output_dir", "HUB_MODEL_ID": "--hub_model_id"}),
        ("predict", {"OUTPUT_DIR": "--output_dir", "INPUT": "--input", "PREDICTIONS": "--predictions"}),
        ("export", {"OUTPUT_DIR": "--output_dir"}),
        ("bench", {"DATA_DIR": "--data_dir"}),
        ("bench-predict", {"OUTPUT_DIR": "--output_dir"}),
        ("data", {"SST_SOURCE": "--source"}),
    ],
)  # fmt: skip
def test_every_path_variable_reaches_its_script_as_one_argument(venv, tmp_path, target, variables):
    values = {name: f"{tmp_path}/{SPACED}/{name.lower()}" for name in variables}
    if "RECIPE" in values:  # a prerequisite: make itself must find the file
        values["RECIPE"] += ".yaml"
        (tmp_path / SPACED).mkdir(parents=True)
        shutil.copy(ROOT / "recipes" / "notebook.yaml", values["RECIPE"])
    result = make(venv, target, *(f"{name}={value}" for name, value in values.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    words = arguments(result.stdout)
    for name, flag in variables.items():
        assert words[words.index(flag) + 1] == values[name], (name, result.stdout)
    if target == "bench-predict":
        assert "--files" not in words
        words = arguments(make(venv, target, f"DATA_DIR={tmp_path}/{SPACED}").stdout)
        assert words[words.index("--files") + 1] == f"{tmp_path}/{SPACED}/dev.tsv"


def test_a_missing_recipe_with_spaces_in_its_path_is_named_whole(venv, tmp_path):
    result = make(venv, "reproduce", f"RECIPE={tmp_path}/{SPACED}/nope.yaml", "DATA_DIR=d", dry_run=False)
    assert result.returncode != 0 and result.stderr.splitlines()[0] == (
        f"make: RECIPE={tmp_path}/{SPACED}/nope.yaml: recipe file not found; pass a YAML file such as recipes/notebook.yaml"
    )
