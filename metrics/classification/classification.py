"""Classification scores as an `evaluate` module loaded by path (works offline): exact accuracy,
per-class precision / recall / F1, macro-F1 and the confusion matrix, computed by scikit-learn
(as evaluate's own accuracy, f1 and confusion_matrix modules are).

The notebook averaged per-batch accuracies, which over-weights a short last batch;
this counts correct predictions over all examples.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

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
        names = list(label_names or range(max(*predictions, *references) + 1))
        labels = list(range(len(names)))  # every class, also one that never occurs here
        precision, recall, f1, _ = precision_recall_fscore_support(
            references, predictions, labels=labels, zero_division=0.0
        )
        scores = {"accuracy": float(accuracy_score(references, predictions))}
        for name, p, r, f in zip(names, precision, recall, f1):
            scores |= {f"precision_{name}": float(p), f"recall_{name}": float(r), f"f1_{name}": float(f)}
        matrix = confusion_matrix(references, predictions, labels=labels)
        return scores | {"macro_f1": float(f1.mean()), "confusion_matrix": matrix.tolist()}
