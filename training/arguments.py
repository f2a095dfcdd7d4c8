"""The settings of a run, as argument dataclasses with their help text (`run_finetune.py --help` lists them): the
model's, the data's, and `TrainingArguments` with the project's own additions. Each value is stated once, in a recipe
(`recipes/*.yaml`, read by `training.recipes`): fields without a default here are required there or on the command
line. Each dataclass checks its own values, so a setting that cannot mean anything is refused before anything loads."""

from dataclasses import dataclass, field, fields, replace

import torch
from transformers import TrainingArguments

from sst_data import DataSource

SEED_RANGE = (0, 2**32 - 1)  # numpy's RandomState (the sample, the split) takes seeds in this range, torch too


def check_seed(name: str, seed: int | None) -> None:
    if seed is not None and not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise ValueError(f"--{name} {seed}: seeds are integers from {SEED_RANGE[0]} to {SEED_RANGE[1]}")


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        metadata={"help": "Hub model id or local folder (config.json, tokenizer files, model.safetensors)."}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Run the model's own Python code from its folder or Hub repo; off unless you trust that code."},
    )
    last_layer_cls_only: bool = field(
        default=False,
        metadata={
            "help": "Compute the last layer at [CLS] (MPNet's <s>) only, the one position the classifier reads: the same "
            "logits, about 13%% fewer FLOPs in a 6-layer model, another random stream for dropout. For BERT, DistilBERT "
            "and MPNet classifiers."
        },
    )
    dropout: float | None = field(
        default=None,
        metadata={
            "help": "Train with this probability in every dropout setting of the model's config (0: no dropout, about "
            "16–20%% less time a step on 2 CPU cores). Changes the math. Default: the model's own (0.1 for BERTs)."
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={
            "help": "Keep the pretrained word embeddings fixed (no gradient, no update): half of MiniLM's parameters, "
            "11–12%% less time a step on 2 CPU cores. Changes the math."
        },
    )

    def __post_init__(self):
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"--dropout {self.dropout}: must be in [0, 1)")


@dataclass
class DataArguments(DataSource):
    sample_fraction: float = field(
        metadata={"help": "Fraction of the training rows sampled, as the notebook's df.sample(frac=...)."}
    )
    sample_seed: int = field(metadata={"help": "random_state of that sample (the notebook's: 42)."})
    validation_fraction: float = field(
        metadata={"help": "Fraction of the sample held out for per-epoch validation (with --validation_split sample and "
                  "no validation file or split)."}
    )  # fmt: skip
    split_seed: int = field(
        metadata={"help": "Seed of the train/validation split of the sample (the notebook's split was unseeded)."}
    )
    max_length: int = field(metadata={"help": "Truncate every review to this many tokens (special tokens included)."})
    validation_split: str = field(
        default="sample",
        metadata={
            "help": "Validate each epoch on 'sample': --validation_fraction of the sampled training rows, like the "
            "notebook; or on 'dev': the data folder's official dev.tsv, the whole sample then trains. A --validation_file "
            "or validation split is validated on whatever this says.",
            "choices": ["sample", "dev"],
        },
    )
    ordinal_labels: bool = field(
        default=False,
        metadata={"help": "The labels are ordered, in id order (SST-5: very negative ... very positive): the reports "
                  "add the share of errors that land on a neighbouring class."},
    )  # fmt: skip
    padding: str = field(
        default="longest",
        metadata={
            "help": "Pad each batch to its 'longest' review (same outputs, less work) or to 'max_length' like the notebook.",
            "choices": ["longest", "max_length"],
        },
    )

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.sample_fraction <= 1:
            raise ValueError(f"--sample_fraction {self.sample_fraction}: must be in (0, 1]")
        if not 0 < self.validation_fraction < 1:  # 1 would leave nothing to train on
            raise ValueError(f"--validation_fraction {self.validation_fraction}: must be in (0, 1)")
        if self.max_length < 3:  # [CLS] and [SEP] take two: at least one word
            raise ValueError(f"--max_length {self.max_length}: must be at least 3 (and at most the model's limit)")
        if self.validation_split == "dev" and not self.data_dir:
            raise ValueError("--validation_split dev: validates on a data folder's dev.tsv; with --train_file pass "
                             "--validation_file, with --dataset_name --validation_split_name")  # fmt: skip
        check_seed("sample_seed", self.sample_seed)
        check_seed("split_seed", self.split_seed)


@dataclass
class FinetuneArguments(TrainingArguments):
    GPU_MODE_SETTINGS = ("bf16", "tf32", "optim", "logging_nan_inf_filter")  # what gpu_mode sets on a GPU

    # TrainingArguments' label_names (the keys of the labels in a batch: always "labels" here) is left out of the
    # command line, where --label_names names the data's classes (DataArguments).
    label_names: list[str] | None = field(default=None, init=False)
    config: str = field(
        default="recipes/notebook.yaml",
        metadata={"help": "The recipe (YAML) the settings start from; flags given on the command line override it."},
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start over in --output_dir: remove every file an earlier run of this suite wrote there."},
    )
    push_to_hub_dry_run: bool = field(
        default=False,
        metadata={"help": "List what --push_to_hub would upload from --output_dir; no network."},
    )
    gpu_mode: str = field(
        default="off",
        metadata={
            "help": "'auto': on a CUDA GPU set bf16 autocast, TF32 matmuls, fused AdamW and no per-step NaN check "
            "(a host sync); on a CPU change nothing. 'on': the same, and fail without a GPU. 'off': flags as given "
            "(the notebook recipe: fp32 wherever it runs).",
            "choices": ["auto", "on", "off"],
        },
    )

    fill_last_batch: bool = field(
        default=False,
        metadata={
            "help": "Fill each epoch's last partial batch (and evaluation's) up to the batch size with empty reviews "
            "that carry no loss: with --padding max_length every batch then has one shape, as a CUDA graph needs. The "
            "same loss, gradients, updates and scores as without (tested; dropout draws other masks). One process only."
        },
    )
    cuda_graph_step: bool = field(
        default=False,
        metadata={
            "help": "Capture the whole training step (forward, backward, clipping, fused AdamW) once as a CUDA graph "
            "and replay it for every batch: one launch a step instead of hundreds, no compiler. Needs a CUDA GPU, "
            "--padding max_length, --optim adamw_torch_fused; fills the last batch as --fill_last_batch does "
            "(recipes/fast-graphs.yaml)."
        },
    )

    def __post_init__(self):
        # Checked here, before any data or model loads; torch would only fail at the first step, or never. Every
        # check holds for the values it leaves too: dataclasses.replace() builds a run's arguments from another's.
        if self.learning_rate <= 0:
            raise ValueError(f"--learning_rate {self.learning_rate}: must be > 0")
        if self.weight_decay < 0:
            raise ValueError(f"--weight_decay {self.weight_decay}: must be >= 0 (0: none, as the notebook)")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} {getattr(self, name)}: must be an integer >= 1")
        if self.num_train_epochs <= 0 and self.max_steps <= 0:
            raise ValueError(f"--num_train_epochs {self.num_train_epochs}: must be > 0 (or set --max_steps > 0)")
        check_seed("seed", self.seed)
        check_seed("data_seed", self.data_seed)
        on_gpu = torch.cuda.is_available() and not self.use_cpu
        if self.gpu_mode == "on" and not on_gpu:
            raise ValueError("--gpu_mode on: no CUDA GPU is visible; on a CPU train with recipes/fast.yaml (or pass --gpu_mode auto)")
        if self.cuda_graph_step and not on_gpu:
            raise ValueError("--cuda_graph_step: captures the training step as a CUDA graph, and no CUDA GPU is "
                             "visible; drop the flag (on a CPU: recipes/fast.yaml)")  # fmt: skip
        if self.gpu_mode != "off" and on_gpu:
            for name, value in zip(self.GPU_MODE_SETTINGS, (True, True, "adamw_torch_fused", False)):
                setattr(self, name, value)
        if not torch.cuda.is_available():
            self.dataloader_pin_memory = False  # pinned memory only speeds copies to a GPU; torch warns without one
        super().__post_init__()


@dataclass
class DistillationArguments(FinetuneArguments):
    """A student's settings (`run_distill.py`, `recipes/distill.yaml`): a finished run as its teacher, the loss's two
    weights, and the transfer set, the texts the teacher labels for it."""

    teacher: str | None = field(
        default=None,
        metadata={"help": "The teacher: a finished run folder (e.g. outputs/mpnet) whose labels are the student's."},
    )
    alpha: float | None = field(
        default=None,
        metadata={
            "help": "The weight of the gold labels' cross-entropy in the loss alpha * CE(gold) + (1 - alpha) * T^2 * "
            "KL(softmax(teacher/T) || softmax(student/T)); 1 - alpha weighs the teacher's soft labels. In [0, 1]."
        },
    )
    temperature: float | None = field(
        default=None,
        metadata={"help": "T, the temperature that softens both models' logits in the KL term (> 0; 1: none)."},
    )
    transfer: str = field(
        default="none",
        metadata={
            "help": "Texts the teacher labels beside the training rows: 'unused_sample', the training rows (of "
            "train.tsv, --train_file or --dataset_name) that --sample_fraction leaves out, their labels dropped; 'none'.",
            "choices": ["none", "unused_sample"],
        },
    )
    transfer_file: str | None = field(
        default=None,
        metadata={
            "help": "More texts for the teacher to label: a TSV with --text_column, or plain text, one a line (labels "
            "in it are ignored)."
        },
    )
    augment_copies: int = field(
        default=0,
        metadata={
            "help": "Rule-augmented copies of each training text for the teacher to label, after Tang et al. 2019: "
            "words masked or replaced by another training word, n-grams sampled; deduplicated. 0: none."
        },
    )
    augment_seed: int = field(default=42, metadata={"help": "Seed of the augmentation (the same texts for every seed)."})

    def __post_init__(self):
        # Required here rather than without a default: a subclass's fields follow TrainingArguments' defaulted ones.
        for name in ("teacher", "alpha", "temperature"):
            if getattr(self, name) is None:
                raise ValueError(f"--{name}: a student needs one; set it in the recipe (recipes/distill.yaml) or on "
                                 "the command line")  # fmt: skip
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"--alpha {self.alpha}: must be in [0, 1] (1: gold labels only, 0: the teacher's only)")
        if self.temperature <= 0:
            raise ValueError(f"--temperature {self.temperature}: must be > 0 (1 leaves the logits as they are)")
        if self.augment_copies < 0:
            raise ValueError(f"--augment_copies {self.augment_copies}: must be >= 0")
        check_seed("augment_seed", self.augment_seed)
        if self.fill_last_batch or self.cuda_graph_step:
            raise ValueError("--fill_last_batch and --cuda_graph_step fill batches with rows that carry no teacher "
                             "logits; a student trains without them")  # fmt: skip
        super().__post_init__()


@dataclass(frozen=True)
class RunArguments:
    """A run's arguments, the model's, the data's and the training's, as `training.parse_args` builds them; a study
    derives each of its runs' with `replace` and `in_folder`. Unpacks as (model, data, training)."""

    model: ModelArguments
    data: DataArguments
    training: FinetuneArguments
    # The recipe's settings (its base: chain resolved) as read when the arguments were parsed: what the run's card
    # tells its settings apart from, so that a recipe edited afterwards does not change a finished run's card.
    recipe: dict = field(default_factory=dict, compare=False, repr=False)

    def owner(self, flag: str) -> str | None:
        """Which of `model`, `data`, `training` holds `flag` (a flag of the run's command line); None for none."""
        for name in ("model", "data", "training"):
            if any(f.name == flag and f.init for f in fields(getattr(self, name))):
                return name
        return None

    def replace(self, **flags) -> "RunArguments":
        """These arguments with each flag set in the dataclass that holds it (`dataclasses.replace`: its own checks
        run, a ValueError naming the flag when a value cannot mean anything)."""
        parts = {"model": self.model, "data": self.data, "training": self.training}
        for name in dict.fromkeys(self.owner(flag) for flag in flags):
            if name is None:
                raise ValueError(f"--{next(f for f in flags if self.owner(f) is None)}: not a flag of run_finetune.py")
            parts[name] = replace(parts[name], **{flag: v for flag, v in flags.items() if self.owner(flag) == name})
        return replace(self, **parts)

    def in_folder(self, path) -> "RunArguments":
        """These arguments writing a run of their own into `path` (a study's run: never overwritten, never resumed
        from a named checkpoint; the study keeps or resumes its folder itself)."""
        return self.replace(output_dir=str(path), overwrite_output_dir=False, resume_from_checkpoint=None)

    def __iter__(self):
        return iter((self.model, self.data, self.training))
