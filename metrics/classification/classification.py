"""Classification scores as an `evaluate` module loaded by path (works offline): exact accuracy,
per-class precision / recall / F1, macro-F1 and the confusion matrix.

The notebook averaged per-batch accuracies, which over-weights a short last batch;
this counts correct predictions over all examples.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix of class predictions."
_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]`): predicted class ids.
    references (`list[int]`): gold class ids.
    label_names (`list[str]`, optional): the name of each class id, used in the keys; default: the ids.
Returns:
    accuracy (`float`): correct / total, in [0, 1].
    precision_<name>, recall_<name>, f1_<name> (`float`): per class; 0.0 where undefined (no prediction / no example).
    macro_f1 (`float`): the mean of the per-class F1.
    confusion_matrix (`list[list[int]]`): row = gold class, column = predicted class. Not a scalar: keep it out
        of the Trainer's logs (see run_finetune.py).
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, label_names=None):
        predictions, references = np.asarray(predictions), np.asarray(references)
        names = list(label_names or range(max(predictions.max(), references.max()) + 1))
        matrix = np.zeros((len(names), len(names)), dtype=np.int64)
        np.add.at(matrix, (references, predictions), 1)
        correct = np.diag(matrix)
        predicted, gold = matrix.sum(axis=0), matrix.sum(axis=1)
        precision = np.divide(correct, predicted, out=np.zeros(len(names)), where=predicted > 0)
        recall = np.divide(correct, gold, out=np.zeros(len(names)), where=gold > 0)
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros(len(names)), where=total > 0)
        scores = {"accuracy": float(correct.sum() / matrix.sum())}
        for name, p, r, f in zip(names, precision, recall, f1):
            scores |= {f"precision_{name}": float(p), f"recall_{name}": float(r), f"f1_{name}": float(f)}
        return scores | {"macro_f1": float(f1.mean()), "confusion_matrix": matrix.tolist()}
