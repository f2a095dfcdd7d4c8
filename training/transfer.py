"""A student's transfer set: the texts its teacher labels beside the training rows. From the training rows the
notebook's sample leaves out, a file of texts, and rule augmentation of the training texts (Tang et al. 2019,
"Distilling Task-Specific Knowledge from BERT into Simple Neural Networks"); deduplicated, and guarded against leaks
into the splits a run is scored on."""

import logging
import random
from dataclasses import dataclass, field

import datasets

from errors import ProjectError
from sst_data import Data, SSTDataError, describe, notebook_sample, read_input

logger = logging.getLogger(__name__)
# Tang et al.'s probabilities: a word masked, a word replaced (they draw a word of the same part of speech; here any
# word of the training texts: no tagger), an n-gram (n from 1 to 5) sampled from the result.
P_MASK, P_REPLACE, P_NGRAM, MAX_N = 0.1, 0.1, 0.25, 5
MASK = "[UNK]"  # a masked word: the unknown token of BERT-vocabulary tokenizers (MiniLM's, MPNet's), as in Tang et al.


@dataclass
class TransferSet:
    """The transfer texts in the order the student sees them, and how many each step gave, kept or dropped."""

    texts: list[str]
    sources: dict[str, int]  # texts given by each source, before deduplication
    duplicates: int = 0  # equal to a training text or to an earlier transfer text
    leaks: dict[str, int] = field(default_factory=dict)  # dropped, by the evaluated split they were found in

    def counts(self) -> dict:
        """What distillation.json and the card say of it."""
        given = sum(self.sources.values())
        return {"given": given, "duplicates": self.duplicates, "dropped_as_leaks": sum(self.leaks.values()),
                "used": len(self.texts), "sources": self.sources, "leaks_by_split": self.leaks}  # fmt: skip


def unused_sample(data: Data, data_args) -> list[str]:
    """The training rows the notebook's sample (`df.sample(frac, random_state)`) leaves out, in file order: of
    train.tsv, a --train_file or a --dataset_name's training split alike, each sampled by --sample_fraction."""
    train = data.splits["train"]
    sampled = set(notebook_sample(train.add_column("row", range(len(train))), data_args.sample_fraction,
                                  data_args.sample_seed)["row"])  # fmt: skip
    unused = [text for row, text in enumerate(train["review"]) if row not in sampled]
    if not unused:
        raise ProjectError(f"--transfer unused_sample: --sample_fraction {data_args.sample_fraction} leaves no row of "
                           f"{data.where['train']} out; lower it or pass --transfer none")  # fmt: skip
    return unused


def file_texts(path: str, data_args) -> list[str]:
    """The texts of a transfer file: TSV with the text column (its labels ignored), or plain text, read as
    `make predict` reads its input; a file that is missing, empty or malformed is refused naming the flag and line."""
    try:
        return read_input(path, data_args.text_column, data_args.label_column).texts
    except SSTDataError as err:
        raise ProjectError(f"--transfer_file {err}") from None


def augment(texts: list[str], copies: int, seed: int) -> list[str]:
    """`copies` rule-augmented variants of each text (Tang et al. 2019): each word masked with P_MASK, else replaced
    by a random word of `texts` with P_REPLACE; then, with P_NGRAM, an n-gram of the result kept alone."""
    rng = random.Random(seed)
    vocabulary = sorted({word for text in texts for word in text.split()})
    variants = []
    for text in texts:
        words = text.split()
        for _ in range(copies):
            draws = [rng.random() for _ in words]
            new = [MASK if r < P_MASK else rng.choice(vocabulary) if r < P_MASK + P_REPLACE else w for r, w in zip(draws, words)]
            if rng.random() < P_NGRAM:
                n = rng.randint(1, MAX_N)
                start = rng.randrange(max(len(new) - n, 0) + 1)
                new = new[start : start + n]
            variants.append(" ".join(new))
    return variants


def normalized(text: str) -> str:
    """A text as the leak guard compares it: lowercased (the models are uncased), whitespace collapsed."""
    return " ".join(text.lower().split())


def transfer_set(splits: dict[str, datasets.Dataset], data: Data, data_args, training_args) -> TransferSet:
    """The transfer texts the arguments ask for, each once, none equal to a training text; those equal to a text of
    an evaluated split (validation, dev, test), or contained in one when the training rows are phrases, dropped and
    counted."""
    sources = {}
    if training_args.transfer == "unused_sample":
        sources["unused_sample"] = unused_sample(data, data_args)
    if training_args.transfer_file:
        sources["transfer_file"] = file_texts(training_args.transfer_file, data_args)
    if training_args.augment_copies:
        sources["augmented"] = augment(splits["train"]["review"], training_args.augment_copies, training_args.augment_seed)
    result = TransferSet([], {name: len(texts) for name, texts in sources.items()})
    seen = {normalized(text) for text in splits["train"]["review"]}
    evaluated = {name: [normalized(text) for text in data["review"]] for name, data in splits.items() if name != "train"}
    phrases = describe(data_args)["rows"] == "phrases"
    # Phrases are fragments of sentences: one contained in an evaluated sentence leaks part of it. "\0" never occurs in
    # a text, so a substring of the joined texts is a substring of one of them.
    haystacks = {name: "\0".join(texts) if phrases else set(texts) for name, texts in evaluated.items()}
    for text in (text for texts in sources.values() for text in texts):
        key = normalized(text)
        if key in seen or not key:
            result.duplicates += 1
            continue
        seen.add(key)
        leaked = next((name for name, haystack in haystacks.items() if key in haystack), None)
        if leaked:
            result.leaks[leaked] = result.leaks.get(leaked, 0) + 1
        else:
            result.texts.append(text)
    logger.info("Transfer set: %s", result.counts())
    return result
