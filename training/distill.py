"""Task-specific distillation: a student trained on its training rows' gold labels and on a teacher's soft labels
over those rows and a transfer set (`run_distill.py`, `make distill`). The teacher's logits are computed once, before
training (training.teacher): the Trainer sees a frozen teacher only as a column of its training data."""

import json
import logging
from pathlib import Path

import datasets
import torch
import torch.nn.functional as F

from run_folder import DISTILLATION_FILE, write_atomic
from sst_data import Data

from .ordered import OrderedEvaluationTrainer
from .teacher import check_labels, check_same_split, teacher_logits
from .transfer import TransferSet, transfer_set

logger = logging.getLogger(__name__)
TEACHER_LOGITS = "teacher_logits"  # the training split's column of the teacher's logits
NO_LABEL = -1  # the label of a transfer row (datasets' ClassLabel reads -1 as "no label")
LOSS = "alpha * CE(gold) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T))"


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, alpha: float,
                      temperature: float) -> torch.Tensor:  # fmt: skip
    """alpha * CE(gold) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T)). The cross-entropy is the
    mean over the batch's rows with a gold label (transfer rows have none; 0 when the batch has no such row), the KL
    divergence the mean over every row ("batchmean"); T^2 keeps the soft term's gradients at the scale of the hard
    term's whatever T (Hinton et al. 2015)."""
    gold = labels != NO_LABEL
    hard = F.cross_entropy(student[gold], labels[gold]) if gold.any() else student.new_zeros(())
    soft = F.kl_div(F.log_softmax(student / temperature, dim=-1), F.log_softmax(teacher / temperature, dim=-1),
                    reduction="batchmean", log_target=True)  # fmt: skip
    return alpha * hard + (1 - alpha) * temperature**2 * soft


class DistillationTrainer(OrderedEvaluationTrainer):
    """Trains on `distillation_loss` where a batch carries the teacher's logits (training); evaluates with the model's
    own classification loss (validation, dev, test), so that eval_loss means what it means for any run."""

    def _set_signature_columns_if_needed(self):  # private hook (docs/development.md, "Private hooks")
        """Keep the teacher's logits, which the model's forward does not take, among the training columns."""
        super()._set_signature_columns_if_needed()
        self._signature_columns = [*self._signature_columns, TEACHER_LOGITS]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if TEACHER_LOGITS not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs = dict(inputs)
        teacher, labels = inputs.pop(TEACHER_LOGITS), inputs.pop("labels")
        outputs = model(**inputs)
        loss = distillation_loss(outputs.logits, teacher, labels, self.args.alpha, self.args.temperature)
        return (loss, outputs) if return_outputs else loss


def student_transfer(splits: dict[str, datasets.Dataset], data: Data, data_args, training_args) -> TransferSet:
    """The teacher checked against the student's data (its labels, its training rows) and the transfer set taken and
    leak-guarded: what may refuse the student, before its output folder is made."""
    check_labels(training_args.teacher, data.label_names)
    check_same_split(training_args.teacher, data_args)
    return transfer_set(splits, data, data_args, training_args)


def student_train_split(train: datasets.Dataset, transfer: TransferSet, training_args) -> datasets.Dataset:
    """The student's training rows: the training split (gold labels) and the transfer set (no label), each with the
    teacher's logits; `distillation.json` in the output folder says what it holds."""
    teacher = training_args.teacher
    rows = datasets.concatenate_datasets([
        train.select_columns(["review", "label"]),
        datasets.Dataset.from_dict({"review": transfer.texts, "label": [NO_LABEL] * len(transfer.texts)},
                                   features=train.select_columns(["review", "label"]).features),
    ])  # fmt: skip
    with training_args.main_process_first(desc="teacher logits"):  # the others read the cache it writes
        logits = teacher_logits(teacher, rows["review"], training_args.device)
    if training_args.process_index == 0:
        write_distillation_file(Path(training_args.output_dir), training_args, len(train), transfer.counts())
    return rows.add_column(TEACHER_LOGITS, logits, feature=datasets.Sequence(datasets.Value("float32")))


def write_distillation_file(output_dir: Path, training_args, training_rows: int, transfer: dict) -> None:
    """What the student learnt from, for the card and for readers: the teacher (its folder's name, its scores), the
    loss and its weights, the training rows and the transfer set's counts."""
    teacher = Path(training_args.teacher)
    results = json.loads((teacher / "all_results.json").read_text(encoding="utf-8"))
    summary = {
        "teacher": {"run": teacher.resolve().name, "model": json.loads((teacher / "config.json").read_text())["model_type"],
                    **{key: results[key] for key in ("eval_accuracy", "dev_accuracy") if key in results}},
        "loss": LOSS,
        "alpha": training_args.alpha,
        "temperature": training_args.temperature,
        "training_rows": training_rows,
        "transfer": transfer,
    }  # fmt: skip
    write_atomic(output_dir / DISTILLATION_FILE, json.dumps(summary, indent=2))
