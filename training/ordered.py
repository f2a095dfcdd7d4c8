"""The Trainer every run's Trainer builds on (training.trainer, training.static_shapes): transformers' own, with
evaluation reading rows in the dataset's order."""

from torch.utils.data import SequentialSampler
from transformers import Trainer


class OrderedEvaluationTrainer(Trainer):
    """With group_by_length, transformers 5 also shuffles evaluation rows into length groups, and predictions would
    no longer line up with the reviews written beside them: evaluation reads rows in the dataset's order."""

    def _get_eval_sampler(self, eval_dataset):  # private hook (docs/development.md, "Private hooks")
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None  # >1: accelerate shards in order
