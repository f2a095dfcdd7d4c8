"""Map-based tokenization reproduces the notebook's token ids exactly, and is cached by `datasets`."""

import numpy as np

from sst_data import load_sst2, notebook_sample, tokenize

# The notebook's encoding of its first sampled review (distilbert-base-uncased, special tokens, pad to 80).
NOTEBOOK_IDS = [
    101, 1041, 1012, 1056, 1012, 2573, 2138, 2049, 13109, 7875, 4059, 14083, 2075, 27928, 1010, 2403, 1011, 2095,
    1011, 2214, 2728, 6097, 2532, 18533, 2239, 1010, 1020, 1011, 2095, 1011, 2214, 3881, 6287, 5974, 1998, 2184,
    1011, 2095, 1011, 2214, 2888, 2726, 1010, 8054, 2149, 1997, 1996, 4598, 1997, 1996, 7968, 1010, 15536, 10431,
    2098, 10367, 2013, 1037, 2521, 9497, 4774, 1012, 102,
]  # fmt: skip


def test_first_sampled_review_encodes_to_the_notebook_ids(sst2_dir, tokenizer, tmp_path):
    sample = notebook_sample(load_sst2(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    first = tokenize(sample.select([0]), tokenizer, max_length=80)[0]
    assert first["input_ids"] == NOTEBOOK_IDS + [0] * 17
    assert first["attention_mask"] == [1] * 63 + [0] * 17
    assert first["review"].startswith("e.t. works because")  # the text stays beside its ids


def test_sample_lengths_match_the_notebook(sst2_dir, tokenizer, tmp_path):
    sample = notebook_sample(load_sst2(sst2_dir, cache_dir=tmp_path)["train"], fraction=0.5, seed=42)
    lengths = np.array([len(ids) for ids in tokenizer(list(sample["review"]))["input_ids"]])
    assert lengths.max() == 80  # so padding to 80 truncates nothing
    assert round(lengths.mean()) == 25
    padded = tokenize(sample, tokenizer, max_length=80)
    assert {len(ids) for ids in padded["input_ids"]} == {80}
    assert np.array_equal(np.array(padded["attention_mask"]).sum(axis=1), lengths)


def test_tokenization_is_cached_on_disk(sst2_dir, tokenizer, tmp_path):
    train = load_sst2(sst2_dir, cache_dir=tmp_path)["train"]
    first = tokenize(train, tokenizer, max_length=80)
    again = tokenize(train, tokenizer, max_length=80)
    shorter = tokenize(train, tokenizer, max_length=64)
    assert first.cache_files and first.cache_files == again.cache_files  # the second map reads the first's file
    assert first.cache_files[0]["filename"].startswith(str(tmp_path))
    assert shorter.cache_files != first.cache_files
