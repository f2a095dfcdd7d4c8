"""The demo page: a review in, every label's score out (gr.Label), with examples taken from the reviews the run got
wrong on its validation split. `make serve` mounts it at / of its server, behind the same batched model as /predict.

The same file runs as a Hugging Face Space (Gradio SDK) unchanged: it imports only gradio, transformers and
huggingface_hub, and as a script it serves MODEL_ID (a Hub model pushed by `make push`, or a run folder; default: the
folder this file is in) through `pipeline`. docs/serving.md says how to set one up.
"""

import csv
import os
from collections.abc import Callable
from pathlib import Path

import gradio as gr

EXAMPLES_FILE = "eval_misclassified.tsv"  # review, gold, predicted, probability; the most confident mistakes first
EXAMPLES = 5


def examples(source: str | Path, count: int = EXAMPLES) -> list[str]:
    """The first `count` reviews of the run's misclassified validation reviews: a run folder's, or a Hub model's."""
    path = Path(source) / EXAMPLES_FILE
    if not Path(source).is_dir():
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(str(source), EXAMPLES_FILE))
    with open(path, newline="", encoding="utf-8") as f:
        return [row["review"] for row, _ in zip(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE), range(count))]


def demo(classify: Callable, reviews: list[str], title: str) -> gr.Interface:
    """The page: `classify(text)` returns {label: score} (a function or a coroutine function)."""
    return gr.Interface(
        fn=classify,
        inputs=gr.Textbox(label="Review", lines=3, placeholder="Type a movie review"),
        outputs=gr.Label(label="Sentiment"),
        examples=[[review] for review in reviews],
        title=title,
        description="Every label's score for the review, highest first. The examples are reviews of the validation "
        "split that the model got wrong.",
        api_name="predict",  # POST /gradio_api/call/predict, as gr.Interface names it by default
        flagging_mode="never",
        analytics_enabled=False,
    )


if __name__ == "__main__":  # a Space, or python app.py next to a run's files
    from transformers import pipeline

    model = os.environ.get("MODEL_ID", str(Path(__file__).resolve().parent))
    classifier = pipeline("text-classification", model=model)

    def classify(text: str) -> dict[str, float]:
        return {entry["label"]: entry["score"] for entry in classifier(text, top_k=None, truncation=True)}

    demo(classify, examples(model), f"{Path(model).name}: sentiment").launch()
