"""One shape for every batch, and the whole training step captured once as a CUDA graph (issue 23).

On a GPU a step of this suite's models is launch-bound: about 25 ms for DistilBERT's shape, of which the arithmetic
is about 1 ms (docs/lab-notes.md, "GPU"). A CUDA graph launches a step's hundreds of kernels as one, but replays
only what it recorded: the same shapes, the same memory. Two settings give the training that:

- `--fill_last_batch` (`FilledBatchTrainer`): with `--padding max_length` every batch is already `max_length`
  tokens long; each epoch's last partial batch is now also filled up to the batch size, with empty reviews ([CLS]
  [SEP]) labelled -100, which the classification loss ignores. That loss is a mean over the rows it counts, so the
  filled batch gives the notebook's smaller last batch's loss, gradients and update (tests/test_static_shapes.py,
  to float tolerance, dropout off; with dropout the masks of the real rows are another draw, as with another seed).
  Evaluation and prediction batches are filled to the evaluation batch size: accelerate's `gather_for_metrics`
  keeps only the rows up to the dataset's end, so the filler rows, placed last, never reach predictions, accuracy
  or the loss (tested too).
- `--cuda_graph_step` (`GraphedStepTrainer`, needs CUDA): the whole step, forward, backward, gradient clipping
  and the fused AdamW update, is run eagerly once, then captured as one CUDA graph and replayed for every batch
  after it: one launch a step where eager PyTorch makes hundreds. No compiler is involved (no Dynamo, no
  Inductor), so nothing is compiled or cached: the capture costs one more step's time. Evaluation stays eager
  (filled batches, one shape).

The other road to graphs, `--torch_compile true --torch_compile_backend cudagraphs` (Dynamo and AOTAutograd, no
Inductor; graphs the forward and backward, the optimizer stays eager), also takes `--fill_last_batch`: one batch
shape, so one graph for training and one for evaluation. `benchmarks.bench` measures both (`fast-graphs`,
`fast-cudagraphs`).
"""

import contextlib
import inspect
import logging

import torch
from transformers import Trainer

from errors import ProjectError

from .ordered import OrderedEvaluationTrainer

logger = logging.getLogger(__name__)
IGNORED = -100  # the label the classification loss skips (torch's CrossEntropyLoss ignore_index)
LABEL_KEYS = ("label", "labels", "label_ids")


class FilledBatchCollator:
    """`collator` (padding every row to one length), with a batch of fewer than `batch_size` rows first filled up to it
    with empty reviews labelled -100, placed after the real rows."""

    def __init__(self, collator, batch_size: int):
        self.collator, self.batch_size = collator, batch_size
        self.empty = dict(collator.tokenizer(""))  # [CLS] [SEP]: a well-formed row (an all-masked one gives NaNs)

    def __call__(self, features: list[dict]) -> dict:
        missing = self.batch_size - len(features)
        if missing > 0:
            first = features[0]
            filler = {key: IGNORED if key in LABEL_KEYS else self.empty.get(key, first[key]) for key in first}
            features = [*features, *([filler] * missing)]
        return self.collator(features)


class FilledBatchTrainer(OrderedEvaluationTrainer):
    """Every batch of one size: training batches filled to the training batch size, evaluation and prediction
    batches to the evaluation batch size (`FilledBatchCollator` around the Trainer's collator, one per loader)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.args.world_size > 1:  # gather_for_metrics would keep one process's filler rows, not the others' reviews
            raise ProjectError(f"--fill_last_batch: fills the batches of one process, and this run has "
                               f"{self.args.world_size}; drop the flag (or train in one process)")  # fmt: skip

    @contextlib.contextmanager
    def filling_to(self, batch_size: int):
        """The Trainer's collator, while a loader is built, filling each batch to `batch_size` rows."""
        collator = self.data_collator
        self.data_collator = FilledBatchCollator(collator, batch_size)
        try:
            yield
        finally:
            self.data_collator = collator

    def get_train_dataloader(self):
        with self.filling_to(self._train_batch_size):
            return super().get_train_dataloader()

    def get_eval_dataloader(self, eval_dataset=None):
        with self.filling_to(self.args.eval_batch_size):
            return super().get_eval_dataloader(eval_dataset)

    def get_test_dataloader(self, test_dataset):
        with self.filling_to(self.args.eval_batch_size):
            return super().get_test_dataloader(test_dataset)


class AdamWOfTheStep(torch.optim.AdamW):
    """The run's AdamW (fused, capturable: its step count and learning rate live on the GPU), updated inside the
    captured step by `update()`. `step()`, which the Trainer calls after each training step, does nothing: the
    weights were already updated."""

    def step(self, closure=None):
        return None

    def update(self):
        return torch.optim.AdamW.step(self)


class GraphedStepTrainer(FilledBatchTrainer):
    """The whole training step captured as one CUDA graph (`--cuda_graph_step`, see the module's docstring).

    How it sits in the Trainer's loop (transformers 5.17 to 5.24): `training_step` copies the batch into the graph's
    input tensors and the learning rate the scheduler set into the tensor the graph reads, replays the graph (forward,
    backward, clipping, AdamW) and returns the loss. Then the Trainer calls `_clip_grad_norm` (here: the norm the step
    computed and clipped with; a private hook, docs/development.md), `optimizer.step()` (a no-op, `AdamWOfTheStep`),
    `lr_scheduler.step()` (the next learning rate, a float) and `model.zero_grad()` (drops the references to the
    gradients; their memory is kept for the graph). The first step runs eagerly, on a side stream: the warm-up a
    capture needs (cuBLAS handles, the optimizer's state), and a real step. The second is captured, then replayed.

    `capture=False` runs the same step eagerly every time, without CUDA: how a CPU test checks its math. With
    `capture` (the default) it refuses to start without CUDA, in one line."""

    def __init__(self, *args, capture: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.capture = capture
        refusal = graphed_step_refusal(self.args, capture)
        if refusal:
            raise ProjectError(f"--cuda_graph_step: {refusal}")
        self.inputs = self.graph = self.learning_rates = self.loss = self.grad_norm = None
        self.gradients = []

    def create_optimizer(self, model=None):
        """The Trainer's fused AdamW, parameter groups and settings, rebuilt as `AdamWOfTheStep` (capturable)."""
        built = super().create_optimizer(model)
        if not isinstance(built, AdamWOfTheStep):
            accepted = inspect.signature(torch.optim.AdamW).parameters
            settings = {k: v for k, v in built.defaults.items() if k in accepted} | {"fused": True, "capturable": True}
            self.optimizer = AdamWOfTheStep([{**group, "capturable": True} for group in built.param_groups], **settings)
        return self.optimizer

    def adamw(self) -> AdamWOfTheStep:
        optimizer = self.optimizer
        while not isinstance(optimizer, AdamWOfTheStep):  # accelerate's AcceleratedOptimizer around it
            optimizer = optimizer.optimizer
        return optimizer

    def whole_step(self, model) -> None:
        """Forward, backward, clipping and the AdamW update on the step's input tensors: what the graph records."""
        adamw = self.adamw()
        adamw.zero_grad(set_to_none=True)  # backward writes the gradients, nothing accumulates
        floats = [group["lr"] for group in adamw.param_groups]
        for group, rate in zip(adamw.param_groups, self.learning_rates):
            group["lr"] = rate  # read from the GPU when the graph replays, not baked in at capture
        try:
            with self.compute_loss_context_manager():
                loss = self.compute_loss(model, dict(self.inputs))  # a copy: label smoothing pops the labels
            self.accelerator.backward(loss)
            parameters = [p for group in adamw.param_groups for p in group["params"]]
            if self.args.max_grad_norm > 0:
                self.grad_norm = torch.nn.utils.clip_grad_norm_(parameters, self.args.max_grad_norm)
            adamw.update()
        finally:
            for group, rate in zip(adamw.param_groups, floats):
                group["lr"] = rate
        self.loss = loss.detach()
        self.gradients = [p.grad for p in parameters]

    def training_step(self, model, inputs, num_items_in_batch=None):
        model.train()
        inputs = self._prepare_inputs(inputs)
        adamw = self.adamw()
        if self.inputs is None:  # the first step: eager, allocating the step's tensors
            self.inputs = {key: value.clone() for key, value in inputs.items()}
            self.learning_rates = [torch.tensor(float(g["lr"]), device=self.args.device) for g in adamw.param_groups]
            if self.capture:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    self.whole_step(model)
                torch.cuda.current_stream().wait_stream(side)
            else:
                self.whole_step(model)
        else:
            for key, value in inputs.items():
                self.inputs[key].copy_(value, non_blocking=True)
            for tensor, group in zip(self.learning_rates, adamw.param_groups):
                tensor.fill_(group["lr"])
            if not self.capture:
                self.whole_step(model)
            else:
                if self.graph is None:
                    self.graph = torch.cuda.CUDAGraph()
                    # thread_local: the DataLoader's pin-memory thread may call CUDA while the step is captured.
                    with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
                        self.whole_step(model)
                    logger.info("Training step captured as one CUDA graph")
                self.graph.replay()
        for p, gradient in zip((p for g in adamw.param_groups for p in g["params"]), self.gradients):
            p.grad = gradient  # the step's gradients, visible as after an eager step (until the Trainer zeroes them)
        return self.loss

    def _clip_grad_norm(self, model):  # private hook (docs/development.md, "Private hooks"): clipped in the step
        return self.grad_norm


def graphed_step_refusal(args, capture: bool = True) -> str | None:
    """Why the captured step cannot run with these TrainingArguments, or None."""
    if capture and args.device.type != "cuda":
        return "captures the training step as a CUDA graph, and no CUDA GPU is in use; drop the flag"
    if args.n_gpu > 1:
        return f"one GPU, and this process sees {args.n_gpu}; make one visible (CUDA_VISIBLE_DEVICES)"
    if args.gradient_accumulation_steps != 1:
        return f"one batch a step, not {args.gradient_accumulation_steps}; drop --gradient_accumulation_steps"
    optim = getattr(args.optim, "value", args.optim)  # TrainingArguments makes it an enum
    if optim != "adamw_torch_fused":
        return f"captures fused AdamW, and --optim is {optim}; pass --optim adamw_torch_fused"
    if args.torch_compile:
        return "already a CUDA graph; drop --torch_compile"
    if args.fp16:
        return "fp16's loss scaling skips steps from the host; use --bf16 (or gpu_mode) instead"
    return None


def static_shape_trainer(data_args, training_args) -> type[Trainer]:
    """The Trainer class for `--fill_last_batch` or `--cuda_graph_step`; both need `--padding max_length`."""
    flag = "--cuda_graph_step" if training_args.cuda_graph_step else "--fill_last_batch"
    if data_args.padding != "max_length":
        raise ProjectError(f"{flag}: fills the rows of a batch, not its length; also pass --padding max_length")
    return GraphedStepTrainer if training_args.cuda_graph_step else FilledBatchTrainer
