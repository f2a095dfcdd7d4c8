"""Predict the sentiment of reviews with a finished run, in PyTorch or through its ONNX export (make export).

    python -m inference.predict --output_dir outputs/notebook --input reviews.txt        # predictions to stdout
    python -m inference.predict --output_dir RUN --input dev.tsv --predictions out/dev.tsv --backend onnx-int8
    echo "a gorgeous, witty, seductive movie." | python -m inference.predict --output_dir RUN --input -

Input: a TSV with a header in any layout training accepts (--text_column, --label_column; the label column is
optional: with it, accuracy, macro-F1 and the confusion matrix are printed, and written beside --predictions), a text
file with one review per line, or - for standard input. Output: review<TAB>label<TAB>probability in input order;
GLUE's unlabelled test.tsv (index<TAB>sentence) gives GLUE's submission layout, index<TAB>prediction.
"""

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoConfig

from errors import exit_in_one_line, parse_flags
from modeling import label_names
from run_folder import check_finished_run, write_atomic
from sst_data import read_input
from training_report import Split, evaluation_markdown, predictions_tsv

from .backends import Classifier
from .outputs import check_targets, score_reviews, write_evaluation
from .runs import BACKENDS

PROG = "python -m inference.predict"


@dataclass
class PredictArguments:
    output_dir: str = field(metadata={"help": "The finished run to predict with (run_finetune.py's --output_dir)."})
    input: str = field(
        metadata={"help": "A TSV with a header, a text file with one review per line, or - for standard input."}
    )
    predictions: str = field(
        default="-",
        metadata={"help": "The predictions TSV (written whole or not at all); - (default): standard output."},
    )
    backend: str = field(
        default="torch",
        metadata={
            "help": "torch: the run's model in PyTorch; onnx / onnx-int8: its export in OUTPUT_DIR/onnx/ "
            "(make export), fp32 / int8.",
            "choices": list(BACKENDS),
        },
    )
    batch_size: int = field(default=32, metadata={"help": "Reviews per batch."})
    text_column: str = field(
        default="review", metadata={"help": "Header name of a TSV's review column (GLUE: sentence)."}
    )
    label_column: str = field(default="label", metadata={"help": "Header name of a TSV's label column, if it has one."})

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"--batch_size {self.batch_size}: must be an integer >= 1")


def main(argv=None) -> None:
    args = parse_flags(PredictArguments, argv, PROG, __doc__)
    to_stdout = args.predictions == "-"
    log = sys.stderr if to_stdout else sys.stdout  # standard output is the predictions' when they go there

    ###############
    # Read the input (every line checked), check every file it would write, then load the run
    ###############
    reviews = read_input(args.input, args.text_column, args.label_column)
    if not to_stdout:
        check_targets(Path(args.predictions), args.input, labelled=reviews.labels is not None)
    if reviews.labels is not None:  # the labels, once the run's are known (its config.json): its names, or their ids
        names = label_names(AutoConfig.from_pretrained(check_finished_run(Path(args.output_dir))))
        reviews = read_input(args.input, args.text_column, args.label_column, names, reviews.data)
    classifier = Classifier(Path(args.output_dir), args.backend)

    ###############
    # Predict, in batches
    ###############
    start = time.perf_counter()
    logits, truncated = classifier.logits(reviews.texts, args.batch_size)
    reviews_read = f"{len(reviews.texts)} review{'s' * (len(reviews.texts) != 1)}"
    print(f"{reviews_read} from {reviews.where}, {args.backend}, batches of {args.batch_size}: "
          f"{time.perf_counter() - start:.1f} s", file=log)  # fmt: skip
    print(f"{truncated.sum()} of {reviews_read} longer than {classifier.max_length} tokens were cut to "
          f"{classifier.max_length}, as in training", file=log)  # fmt: skip
    tsv = predictions_tsv(reviews, logits, classifier.label_names)

    ###############
    # Labelled input: scored and reported like the dev split
    ###############
    if reviews.labels is not None:
        prefix = Path(reviews.where if to_stdout else args.predictions).stem
        scores = score_reviews(reviews, logits, classifier.label_names)
        print(evaluation_markdown({prefix: scores}, {prefix: Split(prefix, title=prefix)}, classifier.label_names), file=log)

    ###############
    # Write, everything computed first: the evaluation files, then the predictions, last
    ###############
    if to_stdout:
        sys.stdout.write(tsv)
        return
    Path(args.predictions).parent.mkdir(parents=True, exist_ok=True)
    if reviews.labels is not None:
        write_evaluation(Path(args.predictions), prefix, reviews, logits, scores, classifier.label_names)
    write_atomic(Path(args.predictions), tsv)
    print(f"Predictions in {args.predictions}", file=log)


if __name__ == "__main__":
    exit_in_one_line(main, PROG)
