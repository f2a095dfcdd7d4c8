"""Convert Stanford's SST release into the notebook's train.tsv / dev.tsv / test.tsv.

    python -m sst_data --output_dir data/sst2                          # download, verify, convert
    python -m sst_data --source trainDevTestTrees_PTB.zip --output_dir data/sst2
    python -m sst_data --source path/to/trees --output_dir data/sst2 --encoding utf-8
    python -m sst_data --source trainDevTestTrees_PTB.zip --output_dir data/sst2-phrases --phrases
    python -m sst_data --labels 5 --output_dir data/sst5                   # SST-5: the trees' five classes
"""

import argparse
import codecs
import re
from pathlib import Path

from errors import ProjectError, exit_in_one_line

from .download import STANFORD_SHA256, STANFORD_URL, download_verified
from .schema import LABEL_NAMES, SPLIT_FILES, SST5_LABEL_NAMES
from .trees import NOTEBOOK_ENCODING, convert_release


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sst_data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source",
        default=STANFORD_URL,
        help="trainDevTestTrees_PTB.zip, a folder holding its tree files, or a URL to download it from "
        "(default: Stanford's)",
    )
    parser.add_argument("--output_dir", type=Path, required=True, help="Where train.tsv, dev.tsv, test.tsv go.")
    parser.add_argument(
        "--encoding",
        default=NOTEBOOK_ENCODING,
        help="How to decode the tree files. cp1252 (default) reproduces the notebook's train.tsv byte for byte, "
        "accents as mojibake ('andrã©'); utf-8 gives correct text ('andré').",
    )
    parser.add_argument(
        "--phrases",
        action="store_true",
        help="train.tsv gets every labelled phrase of the training trees (each subtree, root first), each text once; "
        "texts with both polarities and neutral phrases are dropped. dev.tsv and test.tsv stay sentences.",
    )
    parser.add_argument(
        "--labels",
        type=int,
        choices=[2, 5],
        default=2,
        help="2 (default): SST-2, the notebook's negative/positive, neutral trees dropped. 5: SST-5, every tree with its "
        "own label: very negative, negative, neutral, positive, very positive.",
    )
    parser.add_argument("--sha256", default=STANFORD_SHA256, help="Checksum a downloaded --source must have.")
    parser.add_argument(
        "--download_dir", type=Path, default=Path("data"), help="Where a downloaded --source is kept (default: data)."
    )
    args = parser.parse_args(argv)
    try:
        codecs.lookup(args.encoding)
    except LookupError:
        raise ProjectError(f"--encoding {args.encoding}: unknown encoding; use cp1252 (the notebook's) or utf-8") from None
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise ProjectError(f"--output_dir {args.output_dir}: is a file, not a folder; choose another --output_dir")

    source = args.source
    if re.match(r"(https?|file)://", source):
        source = download_verified(source, args.sha256, args.download_dir / Path(source).name)
    conversions = convert_release(Path(source), args.output_dir, args.encoding, args.phrases, args.labels)
    for split, conversion in conversions.items():
        labels = [label for _, label in conversion.rows]
        names = SST5_LABEL_NAMES if args.labels == 5 else LABEL_NAMES[::-1]
        polarity = ", ".join(f"{labels.count(name)} {name}" for name in names)
        if conversion.phrases:
            summary = (
                f"{len(labels)} phrases ({polarity}; {conversion.duplicates} duplicates merged, {conversion.conflicts} "
                f"conflicting phrases dropped ({conversion.conflicting} occurrences), "
                f"{conversion.neutral} neutral phrases dropped)"
            )
        else:
            dropped = f"; {conversion.neutral} neutral trees dropped" if args.labels == 2 else ""
            summary = f"{len(labels)} reviews ({polarity}{dropped})"
        print(f"{args.output_dir / SPLIT_FILES[split]}: {summary}")


if __name__ == "__main__":
    exit_in_one_line(main, "python -m sst_data")
