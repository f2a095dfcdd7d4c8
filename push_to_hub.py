#!/usr/bin/env python
"""Publish a finished run (`run_finetune.py`'s output folder) to the Hugging Face Hub; `make push` runs this.

    python push_to_hub.py --output_dir outputs/notebook --hub_model_id NAME     # HF_TOKEN or `hf auth login`
    python push_to_hub.py --output_dir outputs/notebook --dry_run               # list what would upload, no network
"""

from dataclasses import dataclass, field
from pathlib import Path

from errors import exit_in_one_line, parse_flags
from training_report import push_run


@dataclass
class PushArguments:
    output_dir: str = field(default="outputs/notebook", metadata={"help": "The finished run to publish."})
    hub_model_id: str | None = field(
        default=None, metadata={"help": "Model repo, `name` or `user/name` (default: the output folder's name)."}
    )
    hub_private_repo: bool | None = field(default=None, metadata={"help": "Create the repo private."})
    hub_revision: str | None = field(default=None, metadata={"help": "Branch to push to (created if missing)."})
    dry_run: bool = field(default=False, metadata={"help": "List the files the push would upload; no network."})


def main(argv=None) -> None:
    args = parse_flags(PushArguments, argv, "push_to_hub.py", __doc__)
    push_run(Path(args.output_dir), args.hub_model_id, args.hub_private_repo, args.hub_revision, args.dry_run)


if __name__ == "__main__":
    exit_in_one_line(main, "push_to_hub.py")
