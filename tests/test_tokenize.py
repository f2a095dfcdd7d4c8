"""Map-based tokenization reproduces the notebook's token ids exactly, and is cached by `datasets`."""

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from sst_data import notebook_sample, tokenize_reviews

from .conftest import load_folder

# The notebook's encoding of its first sampled review (distilbert-base-uncased, special tokens, pad to 80).
NOTEBOOK_IDS = [
    101, 1041, 1012, 1056, 1012, 2573, 2138, 2049, 13109, 7875, 4059, 14083, 2075, 27928, 1010, 2403, 1011, 2095,
    1011, 2214, 2728, 6097, 2532, 18533, 2239, 1010, 1020, 1011, 2095, 1011, 2214, 3881, 6287, 5974, 1998, 2184,
    1011, 2095, 1011, 2214, 2888, 2726, 1010, 8054, 2149, 1997, 1996, 4598, 1997, 1996, 7968, 1010, 15536, 10431,
    2098, 10367, 2013, 1037, 2521, 9497, 4774, 1012, 102,
]  # fmt: skip


def test_first_sampled_review_encodes_to_the_notebook_ids(sst2_dir, tokenizer, tmp_path):
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    first = tokenize_reviews(sample.select([0]), tokenizer, max_length=80)[0]
    assert first["input_ids"] == NOTEBOOK_IDS  # stored unpadded; the collator pads
    assert first["review"].startswith("e.t. works because")  # the text stays beside its ids
    notebook_collator = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=80)
    batch = notebook_collator([{"input_ids": first["input_ids"], "attention_mask": first["attention_mask"]}])
    assert batch["input_ids"][0].tolist() == NOTEBOOK_IDS + [0] * 17
    assert batch["attention_mask"][0].tolist() == [1] * 63 + [0] * 17


def test_sample_lengths_match_the_notebook(sst2_dir, tokenizer, tmp_path):
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    lengths = np.array([len(ids) for ids in tokenizer(list(sample["review"]))["input_ids"]])
    assert lengths.max() == 80  # so padding to 80 truncates nothing
    assert round(lengths.mean()) == 25
    stored = tokenize_reviews(sample, tokenizer, max_length=80)
    assert np.array_equal([len(ids) for ids in stored["input_ids"]], lengths)  # nothing truncated at 80


def test_padding_to_the_longest_gives_the_same_outputs_as_padding_to_80(sst2_dir, tokenizer, tiny_model_dir, tmp_path):
    """Why the recipes pad each batch to its longest row: the masked positions change nothing."""
    sample = notebook_sample(load_folder(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    rows = tokenize_reviews(sample.select(range(32)), tokenizer, max_length=80).remove_columns("review").to_list()
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2).eval()
    to_80 = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=80)(rows)
    to_longest = DataCollatorWithPadding(tokenizer, padding="longest", max_length=80)(rows)
    longest = max(len(r["input_ids"]) for r in rows)
    assert longest < 80 and to_longest["input_ids"].shape == (32, longest) and to_80["input_ids"].shape == (32, 80)
    with torch.no_grad():
        torch.testing.assert_close(model(**to_longest).logits, model(**to_80).logits, rtol=1e-5, atol=1e-6)


def test_tokenization_is_cached_on_disk(sst2_dir, tokenizer, tmp_path):
    train = load_folder(sst2_dir, cache_dir=tmp_path)["train"]
    first = tokenize_reviews(train, tokenizer, max_length=80)
    again = tokenize_reviews(train, tokenizer, max_length=80)
    shorter = tokenize_reviews(train, tokenizer, max_length=64)
    assert first.cache_files and first.cache_files == again.cache_files  # the second map reads the first's file
    assert first.cache_files[0]["filename"].startswith(str(tmp_path))
    assert shorter.cache_files != first.cache_files