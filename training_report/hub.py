"""Publish a finished run to the Hugging Face Hub.

What a push sends is listed first, from the run folder itself (no staging copy), and that very list is
committed, so a dry run shows exactly what a push sends. The token comes from `HF_TOKEN` or the stored login
(`hf auth login`) through huggingface_hub, never from an argument that could be saved.
"""

from pathlib import Path

import httpx2
from huggingface_hub import CommitOperationAdd, HfApi, get_token
from huggingface_hub.utils import HFValidationError, filter_repo_objects, validate_repo_id

from errors import ProjectError
from run_folder import CARD_INPUTS, FINISHED_MARKER, written_by_the_suite

from .model_card import render_model_card
from .study import study_card

# Resumable checkpoints, the pickled arguments, the card's inputs (the card itself goes), half-written temporary files.
LEFT_OUT = ["checkpoint-*", "training_args.bin", CARD_INPUTS, ".*"]
NO_TOKEN = "no Hugging Face token: set HF_TOKEN or run `hf auth login`"


class PushError(ProjectError):
    """A push that could not be done; the run's files are left as they were."""


def check_repo_id(repo_id: str, flag: str = "--hub_model_id") -> None:
    """A model repo id the Hub takes (`name` or `user/name`), checked before anything is listed, trained or sent."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        reason = str(err).split("\n")[0].split(": '")[0].rstrip(".")
        raise PushError(f"{flag} {repo_id}: not a Hub model id ({reason}); give `name` or `user/name`") from None


def repo_id_of(output_dir: Path, repo_id: str | None) -> str:
    """The repo a run is pushed to: `repo_id`, or the output folder's name (as `Trainer` does), checked."""
    check_repo_id(repo_id or Path(output_dir).resolve().name,
                  "--hub_model_id" if repo_id else f"--hub_model_id (default: the name of {output_dir})")  # fmt: skip
    return repo_id or Path(output_dir).resolve().name


def upload_files(output_dir: Path) -> list[str]:
    """The files a push uploads, relative to `output_dir`: model, tokenizer, card, results, tables, plots, logs; only
    what the suite wrote there (a user's own files beside a run stay private)."""
    output_dir = Path(output_dir)
    if not (output_dir / FINISHED_MARKER).is_file() or not (output_dir / "README.md").is_file():
        raise PushError(f"{output_dir}: no finished run (all_results.json and README.md) to push; train first")
    run_files = (path.relative_to(output_dir) for path in output_dir.rglob("*") if path.is_file())
    run_files = (path.as_posix() for path in run_files if written_by_the_suite(path.parts[0]))
    return sorted(filter_repo_objects(run_files, ignore_patterns=LEFT_OUT))


def push_run(
    output_dir: Path,
    repo_id: str | None,
    private: bool | None = None,
    revision: str | None = None,
    dry_run: bool = False,
) -> None:
    """Upload the run in `output_dir` to the model repo `repo_id` (default: the folder's name, as `Trainer` does)."""
    output_dir = Path(output_dir)
    repo_id = repo_id_of(output_dir, repo_id)
    files = upload_files(output_dir)
    target = f"{repo_id}" + (f" (revision {revision})" if revision else "")
    study = study_card(output_dir)  # the run's own card on disk stays as the run wrote it; the upload shows its study
    card = render_model_card(output_dir, study) if study else (output_dir / "README.md").read_text(encoding="utf-8")
    print(f"Upload for {target}, from {output_dir}/:")
    for name in files:
        note = "  (with the seed study's mean ± std, from ../seeds.json)" if name == "README.md" and study else ""
        print(f"  {(output_dir / name).stat().st_size:>12,}  {name}{note}")
    if dry_run:
        print(f"Dry run: {len(files)} files listed, nothing uploaded.")
        return
    if get_token() is None:
        raise PushError(f"cannot push to {repo_id}: {NO_TOKEN}. The run in {output_dir} is unchanged.")
    api = HfApi()
    try:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        commit = api.create_commit(
            repo_id,
            operations=[
                CommitOperationAdd(name, card.encode() if name == "README.md" else output_dir / name) for name in files
            ],
            commit_message="Upload fine-tuned SST-2 model",
            revision=revision,
        )
    except (httpx2.HTTPError, OSError) as err:  # no network, offline mode, refused or rejected by the Hub
        reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
        raise PushError(
            f"push to {repo_id} failed: {reason}. The run in {output_dir} is unchanged; "
            f"retry with `make push OUTPUT_DIR={output_dir} HUB_MODEL_ID={repo_id}`."
        ) from None
    print(f"Pushed {len(files)} files to {commit.commit_url}")
