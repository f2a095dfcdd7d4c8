"""Imports flow one way: the packages form the layers declared in pyproject.toml (checked by import-linter), every
package is in them, and no package imports an entry-point script. And ruff's rules (pinned in constraints.txt) hold."""

import subprocess
import sys
import tomllib
from pathlib import Path

from .conftest import ROOT


def test_every_package_is_in_a_layer_and_every_script_is_forbidden_to_them():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    layered = {name.strip() for layer in config["contracts"][0]["layers"] for name in layer.split("|")}
    assert set(config["root_packages"]) == layered == packages
    scripts = {path.stem for path in ROOT.glob("*.py")}
    assert set(config["contracts"][1]["forbidden_modules"]) == scripts
    assert set(config["contracts"][1]["source_modules"]) == packages


def test_the_imports_keep_the_layers():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."], capture_output=True,
                            text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
