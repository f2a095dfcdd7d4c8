"""Publish a finished run to the Hugging Face Hub.

The upload is first assembled as a folder of its own (`<output_dir>/hub_upload/`, hard links to the
run's files), so that a dry run shows exactly what a push sends. The token comes from `HF_TOKEN` or the
stored login (`hf auth login`) through huggingface_hub, never from an argument that could be saved.
"""

import os
import shutil
from pathlib import Path

import httpx2
from huggingface_hub import HfApi, get_token
from huggingface_hub.utils import filter_repo_objects

from .files import FINISHED_MARKER

UPLOAD_FOLDER = "hub_upload"
# Resumable checkpoints, the pickled arguments, the staging folder itself, half-written temporary files.
LEFT_OUT = ["checkpoint-*", "training_args.bin", f"{UPLOAD_FOLDER}/*", ".*"]
NO_TOKEN = "no Hugging Face token: set HF_TOKEN or run `hf auth login`"


class PushError(Exception):
    """A push that could not be done; the run's files are left as they were."""


def assemble_upload(output_dir: Path) -> Path:
    """Rebuild `output_dir/hub_upload/` with the files a push uploads: model, tokenizer, card, results, table, plots."""
    output_dir = Path(output_dir)
    if not (output_dir / FINISHED_MARKER).is_file() or not (output_dir / "README.md").is_file():
        raise PushError(f"{output_dir}: no finished run (all_results.json and README.md) to push; train first")
    staging = output_dir / UPLOAD_FOLDER
    shutil.rmtree(staging, ignore_errors=True)
    run_files = (path.relative_to(output_dir).as_posix() for path in output_dir.rglob("*") if path.is_file())
    for name in filter_repo_objects(run_files, ignore_patterns=LEFT_OUT):
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(output_dir / name, staging / name)  # no copy of the weights
    return staging


def push_run(
    output_dir: Path,
    repo_id: str | None,
    private: bool | None = None,
    revision: str | None = None,
    dry_run: bool = False,
) -> None:
    """Upload the run in `output_dir` to the model repo `repo_id` (default: the folder's name, as `Trainer` does)."""
    output_dir = Path(output_dir)
    repo_id = repo_id or output_dir.resolve().name
    staging = assemble_upload(output_dir)
    files = sorted(path for path in staging.rglob("*") if path.is_file())
    target = f"{repo_id}" + (f" (revision {revision})" if revision else "")
    print(f"Upload for {target}: {staging}/")
    for path in files:
        print(f"  {path.stat().st_size:>12,}  {path.relative_to(staging).as_posix()}")
    if dry_run:
        print(f"Dry run: {len(files)} files assembled, nothing uploaded.")
        return
    if get_token() is None:
        raise PushError(f"cannot push to {repo_id}: {NO_TOKEN}. The run in {output_dir} is unchanged.")
    api = HfApi()
    try:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=staging, revision=revision, commit_message="Upload fine-tuned SST-2 model"
        )
    except (httpx2.HTTPError, OSError) as err:  # no network, offline mode, refused or rejected by the Hub
        reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
        raise PushError(
            f"push to {repo_id} failed: {reason}. The run in {output_dir} is unchanged; "
            f"retry with `make push OUTPUT_DIR={output_dir} HUB_MODEL_ID={repo_id}`."
        ) from None
    print(f"Pushed {len(files)} files to {commit.commit_url}")
