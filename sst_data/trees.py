"""The official SST release (PTB trees, one per line) → the notebook's `review<TAB>label` TSV files.

The recipe that made the notebook's `train.tsv` (see shared/data/README.md): the root label is the
sentence label (0–1 negative, 3–4 positive, 2 neutral: dropped); the sentence is the leaves joined by
single spaces, lowercased; tree-file order. The notebook decoded the tree files as cp1252, which turns
UTF-8 accents into mojibake (`andrã©`); that is the default so that the files match byte for byte.
"""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .schema import HEADER, SPLIT_FILES, SSTDataError

NOTEBOOK_ENCODING = "cp1252"
TREE_FILES = {split: f"{split}.txt" for split in SPLIT_FILES}
# A tree is "(" label, then its words or its subtrees, then ")". Words are split on any whitespace, as
# the notebook's parser did: a leaf "8\u00a01\\/2" (no-break space) gives the two words "8" and "1\\/2".
TOKEN = re.compile(r"\(|\)|[^\s()]+")
ROOT_SENTIMENT = {0: "negative", 1: "negative", 3: "positive", 4: "positive"}  # 2 (neutral) is dropped


@dataclass
class Conversion:
    """One tree file converted: its rows (review, label) in file order and how many neutral trees it dropped."""

    rows: list[tuple[str, str]]
    neutral: int

    def to_tsv(self) -> bytes:
        lines = ["\t".join(HEADER)] + [f"{review}\t{label}" for review, label in self.rows]
        return ("\n".join(lines) + "\n").encode("utf-8")


def parse_tree(line: str) -> tuple[int, list[str]]:
    """(root label, words) of one PTB tree such as `(3 (2 It) (4 (2 's) (4 fine)))`; `ValueError` says what is wrong.

    Iterative, so that deeply nested input cannot exhaust the recursion limit.
    """
    matches = list(TOKEN.finditer(line))
    tokens = [m.group() for m in matches]
    columns = [m.start() + 1 for m in matches] + [len(line) + 1]  # 1-based, for the messages
    if tokens[:1] != ["("]:
        raise ValueError("does not start with '('")
    words: list[str] = []
    open_nodes: list[str] = []  # what each open node holds so far: "" (nothing yet), "words" or "subtrees"
    root_label = None
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token == "(":
            if root_label is not None and not open_nodes:
                raise ValueError(f"text after the tree ends, at column {columns[position]}")
            label = tokens[position + 1] if position + 1 < len(tokens) else ")"
            if label in "()":
                raise ValueError(f"'(' at column {columns[position]} is not followed by a label")
            if label not in {"0", "1", "2", "3", "4"}:
                raise ValueError(f"label {label!r} at column {columns[position + 1]} is not one of 0, 1, 2, 3, 4")
            if not open_nodes:
                root_label = int(label)
            elif open_nodes[-1] == "words":
                raise ValueError(f"subtree at column {columns[position]} follows words in the same node")
            else:
                open_nodes[-1] = "subtrees"
            open_nodes.append("")
            position += 2
        elif token == ")":
            if not open_nodes:
                raise ValueError(f"unbalanced brackets: ')' at column {columns[position]} closes nothing")
            if not open_nodes.pop():
                raise ValueError(f"empty node closed at column {columns[position]}: a node holds words or subtrees")
            position += 1
        else:
            if not open_nodes:
                raise ValueError(f"word {token!r} at column {columns[position]} is outside the tree")
            if open_nodes[-1] == "subtrees":
                raise ValueError(f"word {token!r} at column {columns[position]} follows subtrees in the same node")
            open_nodes[-1] = "words"
            words.append(token)
            position += 1
    if open_nodes:
        raise ValueError(f"unbalanced brackets: {len(open_nodes)} '(' never closed")
    return root_label, words


def convert_trees(data: bytes, where: str, encoding: str = NOTEBOOK_ENCODING) -> Conversion:
    """Every line of a tree file → one (review, label) row, neutral trees dropped; `SSTDataError` at the first bad line."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last tree
    if not lines:
        raise SSTDataError(f"{where}: file is empty; expected one PTB tree per line, as in Stanford's trees/*.txt")
    rows, neutral = [], 0
    for line_number, raw in enumerate(lines, start=1):
        try:
            line = raw.removesuffix(b"\r").decode(encoding)
        except UnicodeDecodeError as err:
            raise SSTDataError(
                f"{where}:{line_number}: byte {raw[err.start]:#04x} at column {err.start + 1} is not {encoding}; "
                "pass --encoding with the file's encoding"
            ) from None
        if not line.strip():
            raise SSTDataError(f"{where}:{line_number}: line is empty; every line must hold one tree, remove the line")
        try:
            root_label, words = parse_tree(line)
        except ValueError as err:
            raise SSTDataError(f"{where}:{line_number}: not a PTB tree: {err}; fix or remove the line") from None
        review = " ".join(words).lower()
        if root_label == 2:
            neutral += 1
        else:
            rows.append((review, ROOT_SENTIMENT[root_label]))
    return Conversion(rows, neutral)


def read_release(source: Path) -> dict[str, tuple[str, bytes]]:
    """{split: (where, bytes)} for each tree file in `source`: Stanford's zip (`trees/*.txt`), or a folder
    holding the tree files directly or in `trees/`."""
    source = Path(source)
    if zipfile.is_zipfile(source):
        try:
            with zipfile.ZipFile(source) as archive:
                names = set(archive.namelist())
                found = {
                    split: (f"{source}/trees/{name}", archive.read(f"trees/{name}"))
                    for split, name in TREE_FILES.items()
                    if f"trees/{name}" in names
                }
        except (zipfile.BadZipFile, OSError) as err:
            raise SSTDataError(f"{source}: damaged zip ({err}); download trainDevTestTrees_PTB.zip again") from None
    elif source.is_dir():
        folder = source / "trees" if (source / "trees").is_dir() else source
        found = {
            split: (str(folder / name), (folder / name).read_bytes())
            for split, name in TREE_FILES.items()
            if (folder / name).is_file()
        }
    elif source.exists():
        raise SSTDataError(f"{source}: not a zip file; pass Stanford's trainDevTestTrees_PTB.zip or a folder of tree files")
    else:
        raise SSTDataError(f"{source}: not found; pass Stanford's trainDevTestTrees_PTB.zip or a folder of tree files")
    if "train" not in found:
        raise SSTDataError(
            f"{source}: holds no {TREE_FILES['train']} (trees/{TREE_FILES['train']} in the zip); "
            "pass Stanford's trainDevTestTrees_PTB.zip or its trees/ folder"
        )
    return found


def convert_release(source: Path, output_dir: Path, encoding: str = NOTEBOOK_ENCODING) -> dict[str, Conversion]:
    """Convert every split of the release; nothing is written unless every tree file converts."""
    conversions = {split: convert_trees(data, where, encoding) for split, (where, data) in read_release(source).items()}
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, conversion in conversions.items():
        (output_dir / SPLIT_FILES[split]).write_bytes(conversion.to_tsv())
    return conversions

