"""A predictions file: what a run writes for an unlabelled test split (test_predictions.tsv) and what predict
writes for any input, in one layout."""

import numpy as np

from sst_data import Reviews

from .evaluation import class_key, probabilities

PREDICTION_HEADERS = ("review\tlabel\tprobability", "index\tprediction")  # how the first line of what predict writes starts


def predictions_tsv(reviews: Reviews, logits: np.ndarray, label_names: list[str]) -> str:
    """`review<TAB>label<TAB>probability` (of the predicted label), then the probability of each class (`p_<label>`),
    per review, in input order; for GLUE's unlabelled test file, GLUE's submission layout `index<TAB>prediction` (the
    label's id)."""
    predicted = logits.argmax(-1)
    if reviews.glue_test:
        lines = ["index\tprediction"] + [f"{index}\t{label}" for index, label in zip(reviews.indices, predicted)]
    else:
        each = probabilities(logits)
        lines = ["\t".join([PREDICTION_HEADERS[0], *(f"p_{class_key(name)}" for name in label_names)])] + [
            "\t".join([review, label_names[label], f"{p[label]:.4f}", *(f"{q:.4f}" for q in p)])
            for review, label, p in zip(reviews.texts, predicted, each)
        ]
    return "\n".join(lines) + "\n"
