"""Every row of every split checked, and the label set a run learns: strings or integers, the training rows' own,
sorted (as transformers' `run_classification.py` takes them), or named in order by `--label_names`; then the labels
as ids of one `ClassLabel`, for every source and format alike. Each refusal names the file and line (or the split and
row) and what to do."""

import logging
from dataclasses import dataclass

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from .builder import conversion_record, shown_values
from .schema import LABEL_NAMES, SSTDataError
from .sources import DataSource, RawSplit

logger = logging.getLogger(__name__)
INTEGER = r"^-?[0-9]+$"
FLOAT = r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"


@dataclass
class Data:
    """A source's splits, checked: `splits` by role ("train", then "validation", "dev", "test" when there) with the
    columns `review` and `label` (one `ClassLabel` of `label_names`); `unlabelled`, a test split without labels to
    predict (`review`, `index`); `where` each split came from."""

    splits: dict[str, datasets.Dataset]
    unlabelled: datasets.Dataset | None
    label_names: list[str]
    where: dict[str, str]


def first(mask) -> int:
    return pc.index(mask, True).as_py()


def check_texts(split: RawSplit) -> None:
    texts = split.data.data.column("review")
    if not pa.types.is_string(texts.type) and not pa.types.is_large_string(texts.type):
        raise SSTDataError(f"{split.where}: the text column holds {texts.type}, not text; name the text with --text_column")
    if texts.null_count:
        raise SSTDataError(f"{split.row(first(pc.is_null(texts)))}: text is missing; fill it in or remove the row")
    blank = pc.or_(pc.equal(pc.utf8_length(texts), 0), pc.utf8_is_space(texts))
    if pc.any(blank).as_py():
        raise SSTDataError(f"{split.row(first(blank))}: review is empty; remove the row or fill in its text")


def regression(split: RawSplit, labels) -> SSTDataError:
    return SSTDataError(f"{split.where}: labels are numbers with fractions (e.g. {labels[0].as_py()!r}): that is "
                        "regression, which this suite does not do; give one class label a row")  # fmt: skip


def raw_labels(split: RawSplit):
    """The split's labels as an Arrow array of strings or integers (a `ClassLabel`'s as its names; a TSV file's, all
    integers written as text, as integers), refusing what is no class label."""
    feature = split.data.features["label"]
    labels = split.data.data.column("label")
    if labels.null_count:
        raise SSTDataError(f"{split.row(first(pc.is_null(labels)))}: label is missing; fill it in or remove the row")
    if isinstance(feature, datasets.ClassLabel):
        if pc.any(pc.less(labels, 0)).as_py():
            raise SSTDataError(f"{split.row(first(pc.less(labels, 0)))}: label is missing (-1); fill it in or remove the row")
        return pc.take(pa.array(feature.names), labels)
    kind = labels.type
    if pa.types.is_floating(kind):
        raise regression(split, labels)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        raise SSTDataError(f"{split.where}: labels are lists (e.g. {labels[0].as_py()!r}): that is multi-label "
                           "classification, which this suite does not do; give one class label a row")  # fmt: skip
    if pa.types.is_integer(kind):
        return labels
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise SSTDataError(f"{split.where}: labels of type {kind}; give strings or integers")
    empty = pc.or_(pc.equal(pc.utf8_length(labels), 0), pc.utf8_is_space(labels))
    if pc.any(empty).as_py():
        raise SSTDataError(f"{split.row(first(empty))}: label is missing; fill it in or remove the row")
    numbers = pc.match_substring_regex(labels, INTEGER)
    text_format = split.path is not None and split.path.suffix.lower() in (".tsv", ".csv")
    if text_format and pc.all(numbers).as_py():
        return pc.cast(labels, pa.int64())  # a text format writes integers as text (a CSV reader reads them as numbers)
    if text_format and pc.all(pc.match_substring_regex(labels, FLOAT)).as_py():
        raise regression(split, labels)
    if pc.any(numbers).as_py() and not pc.all(numbers).as_py():
        number, name = (labels[first(mask)].as_py() for mask in (numbers, pc.invert(numbers)))
        raise SSTDataError(f"{split.where}: labels of mixed types: numbers ({number!r}, {split.row(first(numbers))}) and "
                           f"names ({name!r}); give one kind")  # fmt: skip
    return labels


def label_set(train: RawSplit, labels, source: DataSource) -> tuple[list[str], bool]:
    """The label names in id order, and whether something named them (then the data's labels are those names, or
    their ids): --label_names, a `ClassLabel`'s names, the labels a folder's conversion.json lists in order, GLUE's
    SST-2 names for a folder of 0/1 labels; else (not named) the training labels sorted."""
    if source.names():
        return source.names(), True
    if isinstance(train.data.features["label"], datasets.ClassLabel):
        return list(train.data.features["label"].names), True
    values = sorted(pc.unique(labels).to_pylist())
    if source.data_dir and (listed := conversion_record(source.data_dir).get("labels")):
        return listed, True
    if source.data_dir and pa.types.is_integer(labels.type) and set(values) <= {0, 1}:
        return LABEL_NAMES, True
    return [str(value) for value in values], False


def label_ids(split: RawSplit, labels, names: list[str], named: bool, train_values: set) -> dict:
    """{label as the data holds it: its id}, refusing a label outside the set, naming its row."""
    integers = pa.types.is_integer(labels.type)
    values = pc.unique(labels).to_pylist()
    if named:
        mapping = {value: names.index(value) for value in values if not integers and value in names}
        mapping |= {value: value for value in values if integers and 0 <= value < len(names)}
        allowed = f"{', '.join(names)} (or 0 to {len(names) - 1})"
        fix = "fix the label, or pass --label_names naming every label of the data"
    else:
        order = sorted(train_values) if train_values else []
        mapping = {value: names.index(str(value)) for value in values if value in train_values}
        allowed = f"the training rows' labels ({shown_values(order)})"
        fix = "fix the label, or add rows of it to the training data"
    if outside := [value for value in values if value not in mapping]:
        index = first(pc.is_in(labels, pa.array(outside, type=labels.type)))
        raise SSTDataError(f"{split.row(index)}: label {labels[index].as_py()!r} is not one of {allowed}; the split's "
                           f"labels are {shown_values(values)}; {fix}")  # fmt: skip
    return mapping


def check_and_encode(raw: dict[str, RawSplit], source: DataSource) -> Data:
    """Every split checked (text, labels), the label set taken, each label turned into its id."""
    unlabelled = None
    for split in raw.values():
        check_texts(split)
    labelled = {role: split for role, split in raw.items() if split.labelled}
    labels = {role: raw_labels(split) for role, split in labelled.items()}
    train = labelled["train"]
    names, named = label_set(train, labels["train"], source)
    train_values = set(pc.unique(labels["train"]).to_pylist())
    if not named:
        for role, values in labels.items():
            if pa.types.is_integer(values.type) != pa.types.is_integer(labels["train"].type):
                kinds = ("numbers", "names") if pa.types.is_integer(values.type) else ("names", "numbers")
                raise SSTDataError(f"{raw[role].where}: labels are {kinds[0]}, the training rows' are {kinds[1]}: "
                                   "labels of mixed types; pass --label_names to name the numbers")  # fmt: skip
    if len(train_values) < 2:
        raise SSTDataError(f"{train.where}: the training rows hold one label ({shown_values(train_values)}); a classifier "
                           "needs at least two classes")  # fmt: skip
    features = datasets.Features({"review": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    splits = {}
    for role, split in labelled.items():
        mapping = label_ids(split, labels[role], names, named, train_values)
        ids = pc.cast(pc.index_in(labels[role], value_set=pa.array(list(mapping), type=labels[role].type)), pa.int64())
        ids = pc.take(pa.array(list(mapping.values()), type=pa.int64()), ids)
        # The new column beside the read rows, not a copy of them: a file's split stays memory-mapped from the Arrow
        # cache, and its tokenization is cached beside it.
        data = split.data.remove_columns("label").add_column("label", ids.combine_chunks() if hasattr(ids, "combine_chunks") else ids)
        splits[role] = data.cast(features)
    for role, split in raw.items():
        if not split.labelled:
            unlabelled = split.data
    counts = dict(zip(*[column.to_pylist() for column in pc.value_counts(splits["train"].data.column("label")).flatten()]))
    logger.info("%d labels (by id): %s", len(names),
                ", ".join(f"{name} ({counts.get(i, 0)} training rows)" for i, name in enumerate(names)))  # fmt: skip
    return Data(splits, unlabelled, names, {role: split.where for role, split in raw.items()})
