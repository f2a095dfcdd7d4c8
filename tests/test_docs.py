"""The documentation's links and commands: every relative link in README.md and docs/*.md reaches a file (and a
heading of it, when it names one), and every `make <target>` the docs mention is a target of the Makefile."""

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PENDING: set[str] = set()  # make targets the docs may name before the Makefile has them
NOT_TARGETS = {"it"}  # "make it readable": the English verb, in an error message the docs quote

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # [text](target) and ![alt](target)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
MAKE = re.compile(r"\bmake ([a-z][a-z-]*)")
TARGET = re.compile(r"^([a-z][a-z-]*):", re.MULTILINE)


def prose(text: str) -> str:
    """The text GitHub renders as Markdown: fenced code blocks and inline code removed (links there are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link markup reduced to its text, lowercase, punctuation except '-' and '_'
    dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file; a repeated heading gets -1, -2, ... as on GitHub."""
    seen, found = Counter(), set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def test_relative_links_resolve():
    assert slug("The notebook recipe on all-MiniLM-L6-v2") == "the-notebook-recipe-on-all-minilm-l6-v2"
    assert slug("Several devices: `accelerate launch`") == "several-devices-accelerate-launch"
    assert (ROOT / "docs").is_dir() and len(DOCS) > 1
    broken = []
    for doc in DOCS:
        for target in LINK.findall(prose(doc.read_text(encoding="utf-8"))):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}: no such file")
            elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
                broken.append(f"{doc.relative_to(ROOT)}: {target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_make_targets_exist():
    targets = set(TARGET.findall((ROOT / "Makefile").read_text(encoding="utf-8"))) | PENDING
    unknown = sorted(
        f"{doc.relative_to(ROOT)}: make {name}"
        for doc in DOCS
        for name in set(MAKE.findall(doc.read_text(encoding="utf-8")))
        if name not in targets | NOT_TARGETS
    )
    assert not unknown, "\n".join(unknown)



def test_each_private_hook_names_a_test_that_exists():
    """docs/development.md lists every private library hook the suite relies on, each with the test that covers it."""
    section = (ROOT / "docs" / "development.md").read_text(encoding="utf-8").split("## Private hooks")[1].split("\n## ")[0]
    named = re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", section)
    assert len(named) >= 6
    for path, test in named:
        assert re.search(rf"^def {test}\(", (ROOT / path).read_text(encoding="utf-8"), re.MULTILINE), f"{path}::{test}"


# For the developers (the suite's own data, dated measurements): the other docs are a user's, whose clone has no
# ../shared/data/ but the data/sst2/ that `make data` makes.
DEVELOPERS_DOCS = {"development.md", "lab-notes.md"}


def test_user_docs_use_the_data_make_data_makes_not_the_development_machines_folder():
    found = [f"{doc.relative_to(ROOT)}:{number}: {line.strip()}"
             for doc in DOCS if doc.name not in DEVELOPERS_DOCS
             for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1)
             if "shared/data" in line]  # fmt: skip
    assert not found, "\n".join(found)


ERROR_LINE = re.compile(r"^\S.*: error: ")  # `<program>: error: <message>`, the one line every entry point ends with
EXAMPLE = re.compile(r"^<!-- example: [a-z0-9_]+ -->$")


def test_every_error_message_the_user_docs_show_is_a_compared_example():
    """Each `<program>: error: ...` line of a block sits in a block marked as an example, which
    tests/test_doc_examples.py makes and compares with what the code prints."""
    unmarked = []
    for doc in DOCS:
        if doc.name in DEVELOPERS_DOCS:
            continue
        lines = doc.read_text(encoding="utf-8").splitlines()
        marked, inside = False, False
        for number, line in enumerate(lines, start=1):
            if line.startswith(("```", "~~~")):
                marked = not inside and number > 1 and bool(EXAMPLE.match(lines[number - 2]))
                inside = not inside
            elif inside and ERROR_LINE.match(line) and not marked:
                unmarked.append(f"{doc.relative_to(ROOT)}:{number}: {line[:100]}")
    assert not unmarked, "\n".join(unmarked)
