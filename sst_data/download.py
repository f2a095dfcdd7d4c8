"""Fetch Stanford's SST release, verified: a partial or corrupt download is never used."""

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from .schema import SSTDataError

STANFORD_URL = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
STANFORD_SHA256 = "5c613a4f673fc74097d523a2c83f38e0cc462984d847b82c7aaf36b01cbbbfcc"
OFFLINE_HINT = (
    "pass the release you have instead: make data SST_SOURCE=path/to/trainDevTestTrees_PTB.zip "
    "(or a folder holding its trees/*.txt), or python -m sst_data --source PATH"
)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def download_verified(url: str, sha256: str, path: Path, timeout: float = 30) -> Path:
    """`url` saved as `path`, whose sha256 is `sha256`. An already verified `path` is reused. The bytes go to a
    temporary name beside `path` and are renamed only once their checksum matches, so `path` is never partial."""
    path = Path(path)
    if path.is_file() and sha256_of(path) == sha256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise SSTDataError(f"{url}: cannot download ({reason}); offline? {OFFLINE_HINT}") from None
        actual = sha256_of(partial)
        if actual != sha256:
            raise SSTDataError(
                f"{url}: downloaded file has sha256 {actual}, expected {sha256}; it is damaged or not the official "
                f"release and was deleted; try again, or {OFFLINE_HINT}"
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
