"""Fetching the release: verified before it is used, renamed only once verified; offline says what to do. No network:
a `file://` URL is a real download through urllib, and a closed local port is a real unreachable server."""

import hashlib
import zipfile

import pytest

from sst_data import SSTDataError
from sst_data.download import OFFLINE_HINT, download_verified

from .conftest import SST_TREES_DIR, sst_data_cli

UNREACHABLE = "http://127.0.0.1:9/sentiment/trainDevTestTrees_PTB.zip"  # discard port: connection refused at once


@pytest.fixture
def release(tmp_path):
    """A zip in the official layout (trees/train.txt, trees/dev.txt) served from a file:// URL, and its sha256."""
    path = tmp_path / "served" / "trainDevTestTrees_PTB.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("train.txt", "dev.txt"):
            archive.write(SST_TREES_DIR / name, f"trees/{name}")
    return path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest(), path.read_bytes()


def test_download_is_verified_then_renamed_and_reused(tmp_path, release):
    url, sha256, data = release
    target = tmp_path / "data" / "trainDevTestTrees_PTB.zip"
    assert download_verified(url, sha256, target) == target
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary file left
    # Verified already: reused, the (now unreachable) server is not asked again.
    assert download_verified(UNREACHABLE, sha256, target) == target


def test_corrupt_download_is_deleted_and_never_used(tmp_path, release):
    url, _, data = release
    target = tmp_path / "data" / "trainDevTestTrees_PTB.zip"
    wrong = hashlib.sha256(b"the official release").hexdigest()
    with pytest.raises(SSTDataError) as err:
        download_verified(url, wrong, target)
    actual = hashlib.sha256(data).hexdigest()
    assert str(err.value).startswith(f"{url}: downloaded file has sha256 {actual}, expected {wrong}; it is damaged")
    assert list(target.parent.iterdir()) == []  # neither the target nor a partial file

    target.write_bytes(data[: len(data) // 2])  # a truncated earlier download under the final name
    with pytest.raises(SSTDataError, match="cannot download"):
        download_verified(UNREACHABLE, actual, target)  # not taken as the release: its checksum differs


def test_offline_fails_at_once_saying_how_to_pass_a_local_copy(tmp_path, release):
    result = sst_data_cli("--source", UNREACHABLE, "--download_dir", str(tmp_path / "dl"),
                          "--output_dir", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"python -m sst_data: error: {UNREACHABLE}: cannot download ([Errno 111] Connection refused); offline? "
        + OFFLINE_HINT
    ]
    assert "make data SST_SOURCE=path/to/trainDevTestTrees_PTB.zip" in OFFLINE_HINT
    assert not (tmp_path / "out").exists() and not any((tmp_path / "dl").glob("*"))

    # The way out the message names: the local zip.
    _, _, data = release
    local = tmp_path / "trainDevTestTrees_PTB.zip"
    local.write_bytes(data)
    result = sst_data_cli("--source", str(local), "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "dev.tsv").is_file()


def test_download_then_convert_from_a_url(tmp_path, release, sst2_dir):
    url, sha256, _ = release
    result = sst_data_cli("--source", url, "--sha256", sha256, "--download_dir", str(tmp_path / "dl"),
                          "--output_dir", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dl" / "trainDevTestTrees_PTB.zip").is_file()
    assert (tmp_path / "out" / "dev.tsv").read_bytes() == (sst2_dir / "dev.tsv").read_bytes()
