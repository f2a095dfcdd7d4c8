"""Where a run's pretrained model comes from, checked before anything is written or loaded: a local folder holding
safetensors weights and a tokenizer, or a Hub model id that is cached or can be fetched."""

from pathlib import Path

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HFValidationError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id

from errors import ProjectError

SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")  # one file, or shards
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model")
HUB_UNREACHABLE = (
    "no such folder, not in the local Hugging Face cache, and the Hub cannot be reached; connect once to cache it, "
    "or pass a local model folder (config.json, tokenizer, model.safetensors)"
)


def check_model_source(name: str) -> None:
    """Refuse in one line a model folder that is missing or lacks safetensors weights or a tokenizer, and a Hub id
    that is neither cached nor on the Hub (its config.json is fetched, as loading would, or read from the cache)."""
    folder = Path(name)
    if not folder.is_dir():
        try:
            validate_repo_id(name)
        except HFValidationError:  # a path, not a Hub id: "folder not found" rather than blaming the Hub
            raise ProjectError(f"--model_name_or_path {name}: folder not found; pass a model folder or a Hub model id") from None
        check_hub_model(name)
        return
    if not any((folder / f).is_file() for f in SAFETENSORS_FILES):
        raise ProjectError(
            f"--model_name_or_path {name}: no model.safetensors; weights load from safetensors only "
            "(a pickled pytorch_model.bin can run code): convert them with model.save_pretrained(folder)"
        )
    # A folder without a vocabulary still "loads", as an empty tokenizer mapping every word to [UNK].
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise ProjectError(
            f"--model_name_or_path {name}: no tokenizer ({' or '.join(TOKENIZER_FILES)}); "
            "pass a folder holding the tokenizer too (tokenizer.save_pretrained(folder))"
        )


def check_hub_model(name: str) -> None:
    try:
        hf_hub_download(name, "config.json")  # offline (HF_HUB_OFFLINE=1): from the cache only
    except RepositoryNotFoundError:
        raise ProjectError(f"--model_name_or_path {name}: no such folder, and no model of that id on the Hub (a private "
                           "one needs `hf auth login`); pass a model folder or a Hub model id") from None  # fmt: skip
    except OSError:  # not cached, and offline or unreachable (LocalEntryNotFoundError, an EntryNotFoundError too)
        raise ProjectError(f"--model_name_or_path {name}: {HUB_UNREACHABLE}") from None
    except EntryNotFoundError:
        raise ProjectError(f"--model_name_or_path {name}: the Hub repository has no config.json; pass a model's id") from None
