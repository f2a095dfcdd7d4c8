"""Imports flow one way: the packages form the layers declared in pyproject.toml (checked by import-linter), every
package is in them, no two modules of a package import each other (directly or round a loop), and no package imports
an entry-point script. And ruff's rules (pinned in constraints.txt) hold."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from .conftest import ROOT


def test_every_package_is_in_a_layer_and_every_script_is_forbidden_to_them():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {contract["type"]: contract for contract in config["contracts"]}
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    layered = {name.split("#")[0].strip() for layer in contracts["layers"]["layers"] for name in layer.split("|")}
    assert set(config["root_packages"]) == layered == packages
    assert {"training", "inference"} in [{name.strip() for name in layer.split("|")} for layer in contracts["layers"]["layers"]]
    assert set(contracts["acyclic_siblings"]["ancestors"]) == packages
    scripts = {path.stem for path in ROOT.glob("*.py")}
    assert set(contracts["forbidden"]["forbidden_modules"]) == scripts
    assert set(contracts["forbidden"]["source_modules"]) == packages


def test_the_imports_keep_the_layers():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."], capture_output=True,
                            text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_build_outputs_are_ignored_by_git_and_by_ruff():
    """`pip install .` leaves build/ (copies of the scripts, with a shebang but not executable) and may leave dist/."""
    probes = [ROOT / "build" / "lib" / "probe_of_the_suite.py", ROOT / "dist" / "probe_of_the_suite.py"]
    made = [folder for folder in (ROOT / "build", ROOT / "dist") if not folder.exists()]
    try:
        for probe in probes:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_text("#!/usr/bin/env python\nimport os\n")  # EXE001 and F401, were ruff to read it
        ignored = subprocess.run(["git", "check-ignore", *map(str, probes)], capture_output=True, text=True, cwd=ROOT)
        assert ignored.stdout.split() == list(map(str, probes))
        ruff = Path(sys.executable).with_name("ruff")
        result = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."],
                                capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        assert "probe_of_the_suite" not in result.stdout + result.stderr
    finally:
        for probe in probes:
            probe.unlink(missing_ok=True)
        for folder in made:
            shutil.rmtree(folder)
