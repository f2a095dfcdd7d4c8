"""Classification scores as an `evaluate` module loaded by path (works offline): exact accuracy,
per-class precision / recall / F1 and support, macro- and weighted-F1, the confusion matrix, and for ordered labels
the share of errors on a neighbouring class, computed by scikit-learn (as evaluate's own accuracy, f1 and
confusion_matrix modules are).

The notebook averaged per-batch accuracies, which over-weights a short last batch;
this counts correct predictions over all examples.
"""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

_DESCRIPTION = "Accuracy, per-class precision/recall/F1/support, macro- and weighted-F1 and the confusion matrix of class predictions."
_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]`): predicted class ids.
    references (`list[int]`): gold class ids.
    label_names (`list[str]`, optional): the name of each class id, used in the keys; default: the ids.
    ordinal (`bool`, optional): the class ids are ordered (SST-5's very negative ... very positive).
Returns:
    accuracy (`float`): correct / total, in [0, 1].
    precision_<name>, recall_<name>, f1_<name> (`float`): per class; 0.0 where undefined (no prediction / no example).
    support_<name> (`int`): the examples of that class.
    macro_f1 (`float`): the mean of the per-class F1; weighted_f1 (`float`): their mean weighted by support.
    neighbour_errors (`float`, with `ordinal`): the share of wrong predictions one class away from the gold one
        (0.0 without errors).
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

    def _compute(self, predictions, references, label_names=None, ordinal=False):
        names = list(label_names or range(max(*predictions, *references) + 1))
        labels = list(range(len(names)))  # every class, also one that never occurs here
        precision, recall, f1, support = precision_recall_fscore_support(
            references, predictions, labels=labels, zero_division=0.0
        )
        scores = {"accuracy": float(accuracy_score(references, predictions))}
        for name, p, r, f, n in zip(names, precision, recall, f1, support):
            scores |= {f"precision_{name}": float(p), f"recall_{name}": float(r), f"f1_{name}": float(f),
                       f"support_{name}": int(n)}  # fmt: skip
        weighted = float((f1 * support).sum() / support.sum()) if support.sum() else 0.0
        scores |= {"macro_f1": float(f1.mean()), "weighted_f1": weighted}
        if ordinal:
            distance = np.abs(np.asarray(predictions) - np.asarray(references))
            errors = int((distance > 0).sum())
            scores["neighbour_errors"] = float((distance == 1).sum() / errors) if errors else 0.0
        return scores | {"confusion_matrix": confusion_matrix(references, predictions, labels=labels).tolist()}
