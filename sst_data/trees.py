"""The official SST release (PTB trees, one per line) → the notebook's `review<TAB>label` TSV files: SST-2 (the
notebook's), or with `labels=5` SST-5, the five classes of the trees themselves.

The recipe that made the notebook's `train.tsv` (see shared/data/README.md): the root label is the
sentence label (0–1 negative, 3–4 positive, 2 neutral: dropped); the sentence is the leaves joined by
single spaces, lowercased; tree-file order. The notebook decoded the tree files as cp1252, which turns
UTF-8 accents into mojibake (`andrã©`); that is the default so that the files match byte for byte.

With `phrases`, a tree file gives every labelled phrase instead (torchtext's `SST(train_subtrees=True)`, the
kind of data GLUE's SST-2 train is): each subtree's words joined and lowercased like a sentence's, labelled
by the number after its '(' (0–1 negative, 3–4 positive, 2 neutral: dropped and counted, each occurrence).
With `labels=5` (SST-5), every tree (or subtree) keeps its own label, named very negative, negative, neutral, positive,
very positive for 0..4: nothing is dropped, and a text seen with two labels is a conflict. Rows come in order of first
occurrence: tree-file order, and within a tree in pre-order (the root sentence
first, then each node before its children, left to right). A text seen again with the same polarity is a
duplicate, written once (0 and 1, or 3 and 4, are the same polarity); a text seen with both polarities is a
conflict: every occurrence of it is dropped and the text counted once. Neutral occurrences take no part in
either: a text neutral here and positive there is written, positive.
"""

import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .schema import CONVERSION_FILE, HEADER, LABEL_NAMES, SPLIT_FILES, SST5_LABEL_NAMES, SSTDataError

NOTEBOOK_ENCODING = "cp1252"
TREE_FILES = {split: f"{split}.txt" for split in SPLIT_FILES}
# A tree is "(" label, then its words or its subtrees, then ")". Words are split on any whitespace, as
# the notebook's parser did: a leaf "8\u00a01\\/2" (no-break space) gives the two words "8" and "1\\/2".
TOKEN = re.compile(r"\(|\)|[^\s()]+")
SENTIMENT = {0: "negative", 1: "negative", 3: "positive", 4: "positive"}  # 2 (neutral) is dropped
CLASSES = {2: SENTIMENT, 5: dict(enumerate(SST5_LABEL_NAMES))}  # the trees' label → the row's, by the number of labels


class Subtree(NamedTuple):
    """One node of a tree: its label and its words, `words[start:end]` of the tree's words."""

    label: int
    start: int
    end: int


@dataclass
class Conversion:
    """One tree file converted: its rows (review, label) in file order and how many neutral trees it dropped.

    With `phrases`, the rows are phrases and `neutral` counts neutral subtrees; `duplicates` counts the
    occurrences merged into a row, `conflicts` the texts dropped for having both polarities and
    `conflicting` their occurrences. Every subtree is one of: a row, a duplicate, conflicting, neutral."""

    rows: list[tuple[str, str]]
    neutral: int
    phrases: bool = False
    duplicates: int = 0
    conflicts: int = 0
    conflicting: int = 0

    def to_tsv(self) -> bytes:
        lines = ["\t".join(HEADER)] + [f"{review}\t{label}" for review, label in self.rows]
        return ("\n".join(lines) + "\n").encode("utf-8")


def parse_tree(line: str) -> tuple[list[str], list[Subtree]]:
    """(words, subtrees) of one PTB tree such as `(3 (2 It) (4 (2 's) (4 fine)))`; `ValueError` says what is wrong.

    The subtrees come in pre-order: the root first (`subtrees[0]`, the whole sentence), then each node before
    its children, left to right. Iterative, so that deeply nested input cannot exhaust the recursion limit.
    """
    matches = list(TOKEN.finditer(line))
    tokens = [m.group() for m in matches]
    columns = [m.start() + 1 for m in matches] + [len(line) + 1]  # 1-based, for the messages
    if tokens[:1] != ["("]:
        raise ValueError("does not start with '('")
    words: list[str] = []
    open_nodes: list[str] = []  # what each open node holds so far: "" (nothing yet), "words" or "subtrees"
    open_subtrees: list[int] = []  # the index in `subtrees` of each open node
    subtrees: list[Subtree] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token == "(":
            if subtrees and not open_nodes:
                raise ValueError(f"text after the tree ends, at column {columns[position]}")
            label = tokens[position + 1] if position + 1 < len(tokens) else ")"
            if label in "()":
                raise ValueError(f"'(' at column {columns[position]} is not followed by a label")
            if label not in {"0", "1", "2", "3", "4"}:
                raise ValueError(f"label {label!r} at column {columns[position + 1]} is not one of 0, 1, 2, 3, 4")
            if open_nodes and open_nodes[-1] == "words":
                raise ValueError(f"subtree at column {columns[position]} follows words in the same node")
            elif open_nodes:
                open_nodes[-1] = "subtrees"
            open_nodes.append("")
            open_subtrees.append(len(subtrees))
            subtrees.append(Subtree(int(label), len(words), -1))  # its end is known at its ')'
            position += 2
        elif token == ")":
            if not open_nodes:
                raise ValueError(f"unbalanced brackets: ')' at column {columns[position]} closes nothing")
            if not open_nodes.pop():
                raise ValueError(f"empty node closed at column {columns[position]}: a node holds words or subtrees")
            index = open_subtrees.pop()
            subtrees[index] = subtrees[index]._replace(end=len(words))
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
    return words, subtrees


def merge_phrases(labelled: list[tuple[str, str]], neutral: int) -> Conversion:
    """(text, label) occurrences → one row per text in order of first occurrence; texts with both labels dropped."""
    first: dict[str, str] = {}  # text → its first label; insertion order is the rows' order
    occurrences = Counter(text for text, _ in labelled)
    conflicting = set()
    for text, label in labelled:
        if first.setdefault(text, label) != label:
            conflicting.add(text)
    rows = [(text, label) for text, label in first.items() if text not in conflicting]
    return Conversion(
        rows,
        neutral,
        phrases=True,
        duplicates=sum(occurrences[text] - 1 for text, _ in rows),
        conflicts=len(conflicting),
        conflicting=sum(occurrences[text] for text in conflicting),
    )


def convert_trees(data: bytes, where: str, encoding: str = NOTEBOOK_ENCODING, phrases: bool = False,
                  labels: int = 2) -> Conversion:  # fmt: skip
    """Every line of a tree file → one (review, label) row, neutral trees dropped; `SSTDataError` at the first bad line.

    With `phrases`, every subtree of every line instead, merged as the module's docstring says."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last tree
    if not lines:
        raise SSTDataError(f"{where}: file is empty; expected one PTB tree per line, as in Stanford's trees/*.txt")
    labelled, neutral = [], 0
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
            words, subtrees = parse_tree(line)
        except ValueError as err:
            raise SSTDataError(f"{where}:{line_number}: not a PTB tree: {err}; fix or remove the line") from None
        for label, start, end in subtrees if phrases else subtrees[:1]:
            if label not in CLASSES[labels]:
                neutral += 1
            else:
                labelled.append((" ".join(words[start:end]).lower(), CLASSES[labels][label]))
    return merge_phrases(labelled, neutral) if phrases else Conversion(labelled, neutral)


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


def convert_release(
    source: Path, output_dir: Path, encoding: str = NOTEBOOK_ENCODING, phrases: bool = False, labels: int = 2
) -> dict[str, Conversion]:
    """Convert every split of the release (SST-2, or SST-5 with `labels=5`); nothing is written unless every tree file
    converts. With `phrases`, train.tsv holds every labelled phrase of the training trees; dev and test stay sentences.
    conversion.json beside them says what was made, the labels in id order among it."""
    release = read_release(source)
    conversions = {
        split: convert_trees(data, where, encoding, phrases=phrases and split == "train", labels=labels)
        for split, (where, data) in release.items()
    }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, conversion in conversions.items():
        (output_dir / SPLIT_FILES[split]).write_bytes(conversion.to_tsv())
    record = {"source": Path(source).name, "encoding": encoding, "train": "phrases" if phrases else "sentences",
              "labels": LABEL_NAMES if labels == 2 else SST5_LABEL_NAMES}  # fmt: skip
    (output_dir / CONVERSION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return conversions

