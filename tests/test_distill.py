"""Distillation (run_distill.py): the loss by hand, a teacher with a vocabulary of its own distilled into a student with
another, its logits cached and reused, the transfer set's leak guard and augmentation, a killed student resumed, and
every bad input in one line. Tiny models, real SST-2 data."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertModel

from errors import ProjectError
from training import DistillationArguments, load_splits, parse_args
from training.distill import distillation_loss
from training.transfer import augment, transfer_set

from .conftest import ROOT, history_without_timings, last_error_line, outcome, run_finetune, short_run

EPOCHS = 2


def run_distill(*args: str) -> subprocess.CompletedProcess:
    """`python run_distill.py ARGS` as a user runs it, in a fresh process."""
    return subprocess.run([sys.executable, str(ROOT / "run_distill.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip


def train_texts(sst2_dir, start: int, stop: int) -> list[str]:
    return [line.split("\t")[0] for line in (sst2_dir / "train.tsv").read_text().splitlines()[1:][start:stop]]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, tokenizer, sst2_dir):
    """A finished run of a tiny BERT with a WordPiece vocabulary of its own (2000 entries, learnt here from train.tsv:
    other ids than the student's for the same words), one epoch on 5% of train.tsv."""
    model_dir = tmp_path_factory.mktemp("tiny-teacher-model")
    own = tokenizer.train_new_from_iterator(train_texts(sst2_dir, 0, 6920), vocab_size=2000)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(own), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(model_dir)  # fmt: skip
    own.save_pretrained(model_dir)
    output_dir = tmp_path_factory.mktemp("teacher") / "run"
    result = run_finetune(*short_run(model_dir, sst2_dir, output_dir, epochs=1))
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


@pytest.fixture(scope="module")
def transfer_file(tmp_path_factory, sst2_dir):
    """200 train.tsv rows, as a TSV with their labels (ignored)."""
    path = tmp_path_factory.mktemp("transfer") / "transfer.tsv"
    lines = (sst2_dir / "train.tsv").read_text().splitlines()
    path.write_text("\n".join([lines[0], *lines[5001:5201]]) + "\n")
    return path


def student_args(teacher, tiny_model_dir, sst2_dir, output_dir, transfer_file, seed=42) -> list:
    return [*short_run(tiny_model_dir, sst2_dir, output_dir, seed=seed, epochs=EPOCHS), "--config", "recipes/distill.yaml",
            "--teacher", teacher, "--transfer", "none", "--transfer_file", transfer_file]  # fmt: skip


def test_the_loss_equals_a_hand_computation_on_fixed_logits():
    student = [[1.0, -0.5], [0.2, 0.3], [-1.0, 2.0]]
    teacher = [[2.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    labels = [0, -1, 1]  # the middle row is a transfer row: no gold label
    alpha, t = 0.3, 2.0

    def softmax(row):
        exps = [math.exp(x) for x in row]
        return [e / sum(exps) for e in exps]

    hard = (-math.log(softmax(student[0])[0]) - math.log(softmax(student[2])[1])) / 2  # the gold rows' mean
    soft = sum(p * math.log(p / q) for s, te in zip(student, teacher) for p, q in
               zip(softmax([x / t for x in te]), softmax([x / t for x in s]))) / 3  # KL(teacher ‖ student), batchmean  # fmt: skip
    loss = distillation_loss(torch.tensor(student), torch.tensor(teacher), torch.tensor(labels), alpha, t)
    assert loss.item() == pytest.approx(alpha * hard + (1 - alpha) * t**2 * soft, rel=1e-6)
    # A batch of transfer rows alone: the teacher's term only.
    no_gold = distillation_loss(torch.tensor(student), torch.tensor(teacher), torch.tensor([-1, -1, -1]), alpha, t)
    assert no_gold.item() == pytest.approx((1 - alpha) * t**2 * soft, rel=1e-6)


@pytest.mark.slow
def test_a_teacher_with_its_own_tokenizer_distils_into_a_student_with_another_and_its_logits_are_reused(
    teacher, tiny_model_dir, sst2_dir, transfer_file, tmp_path
):
    first = run_distill(*student_args(teacher, tiny_model_dir, sst2_dir, tmp_path / "a", transfer_file))
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((tmp_path / "a" / "distillation.json").read_text())
    texts = summary["training_rows"] + summary["transfer"]["used"]
    assert summary["training_rows"] == 242 and summary["transfer"]["given"] == 200
    assert f"Teacher logits: 0 of {texts} texts reused" in first.stdout and f"; {texts} to compute with the teacher" in first.stdout
    cache = teacher / "teacher_logits" / "max_length-32.json"
    logits = json.loads(cache.read_text())["logits"]

    # Each model tokenizes the text itself: the cached logits are the teacher's over its own ids.
    reviews = [text for text in train_texts(sst2_dir, 5000, 5200) if text in logits][:8]  # transfer texts kept
    own, student_tokenizer = AutoTokenizer.from_pretrained(teacher), AutoTokenizer.from_pretrained(tiny_model_dir)
    assert own(reviews[0])["input_ids"] != student_tokenizer(reviews[0])["input_ids"]
    model = AutoModelForSequenceClassification.from_pretrained(teacher).eval()
    with torch.no_grad():
        expected = model(**own(reviews, padding=True, truncation=True, max_length=32, return_tensors="pt")).logits
    torch.testing.assert_close(torch.tensor([logits[r] for r in reviews]), expected, rtol=0, atol=1e-5)

    # A second student (another seed and alpha) reads them from the cache: the teacher is not loaded again.
    written = cache.stat().st_mtime_ns
    second = run_distill(*student_args(teacher, tiny_model_dir, sst2_dir, tmp_path / "b", transfer_file, seed=7),
                         "--alpha", "0.2")  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"Teacher logits: {texts} of {texts} texts reused from {cache}; 0 to compute with the teacher" in second.stdout
    assert cache.stat().st_mtime_ns == written
    assert outcome(tmp_path / "a") != outcome(tmp_path / "b")
    card = (tmp_path / "b" / "README.md").read_text()
    assert "## Distillation" in card and "alpha = 0.2" in card and "--teacher outputs/run" in card
    assert "split 70/30 into 242 training and 104 validation rows" in card  # the gold rows; the transfer rows apart


def test_the_leak_guard_drops_planted_evaluation_texts_and_counts_them(sst2_dir, tmp_path):
    base = ["--model_name_or_path", "unused", "--data_dir", sst2_dir, "--output_dir", tmp_path / "out", "--config",
            "recipes/distill.yaml", "--teacher", "unused", "--transfer", "none"]  # fmt: skip
    _, data_args, _ = parse_args([str(a) for a in base], training_class=DistillationArguments)
    splits, data = load_splits(data_args)
    validation, dev = splits["eval"]["review"][:3], splits["dev"]["review"][:2]
    sampled = {*splits["train"]["review"], *splits["eval"]["review"]}
    novel = [text for text in train_texts(sst2_dir, 0, 6920) if text not in sampled][:5]
    planted = [validation[0].upper(), f"  {validation[1]} ", validation[2], *dev, *novel, novel[0]]  # case, spaces, a repeat
    (tmp_path / "transfer.txt").write_text("\n".join(planted) + "\n")
    _, _, training_args = parse_args([str(a) for a in [*base, "--transfer_file", tmp_path / "transfer.txt"]],
                                     training_class=DistillationArguments)  # fmt: skip
    result = transfer_set(splits, data, data_args, training_args)
    assert result.texts == novel
    assert result.counts() == {"given": 11, "duplicates": 1, "dropped_as_leaks": 5, "used": 5,
                               "sources": {"transfer_file": 11}, "leaks_by_split": {"eval": 3, "dev": 2}}  # fmt: skip


def test_augmentation_is_seeded_and_its_copies_deduplicated(sst2_dir, tmp_path):
    texts = train_texts(sst2_dir, 0, 50)
    assert augment(texts, 4, seed=1) == augment(texts, 4, seed=1) != augment(texts, 4, seed=2)
    base = ["--model_name_or_path", "unused", "--data_dir", sst2_dir, "--output_dir", tmp_path / "out", "--config",
            "recipes/distill.yaml", "--teacher", "unused", "--transfer", "none", "--augment_copies", "4"]  # fmt: skip
    _, data_args, training_args = parse_args([str(a) for a in base], training_class=DistillationArguments)
    splits, data = load_splits(data_args)
    result = transfer_set(splits, data, data_args, training_args)
    assert result.sources == {"augmented": 4 * len(splits["train"])}
    assert len(set(result.texts)) == len(result.texts) and not set(result.texts) & set(splits["train"]["review"])
    assert result.duplicates > 0 and len(result.texts) > 3 * len(splits["train"])


@pytest.mark.parametrize("source", ["data_dir", "train_file"])
def test_the_unused_sample_is_the_training_rows_the_sample_leaves_out_of_a_folder_or_a_file(source, sst2_dir, tmp_path):
    """--transfer unused_sample: the training rows --sample_fraction leaves out, their labels dropped; of the notebook's
    train.tsv (3460 of 6920) and of a --train_file alike. A sample of every row leaves none: one line naming the file."""
    if source == "train_file":
        (tmp_path / "mine.tsv").write_text("\n".join((sst2_dir / "train.tsv").read_text().splitlines()[:401]) + "\n")
    where = sst2_dir if source == "data_dir" else tmp_path / "mine.tsv"
    base = ["--model_name_or_path", "unused", f"--{source}", where, "--output_dir", tmp_path / "out", "--config",
            "recipes/distill.yaml", "--teacher", "unused", "--transfer", "unused_sample"]  # fmt: skip
    _, data_args, training_args = parse_args([str(a) for a in base], training_class=DistillationArguments)
    splits, data = load_splits(data_args)
    result = transfer_set(splits, data, data_args, training_args)
    every = list(data.splits["train"]["review"])
    assert result.sources == {"unused_sample": len(every) // 2} == {"unused_sample": 3460 if source == "data_dir" else 200}
    sampled = [*splits["train"]["review"], *splits["eval"]["review"]]
    assert sorted(result.texts) == sorted(set(every) - set(sampled))  # the rest, each once (train.tsv repeats a few)
    _, data_args, training_args = parse_args([str(a) for a in [*base, "--sample_fraction", "1"]],
                                             training_class=DistillationArguments)  # fmt: skip
    with pytest.raises(ProjectError) as refusal:
        transfer_set(*load_splits(data_args), data_args, training_args)
    assert str(refusal.value) == (f"--transfer unused_sample: --sample_fraction 1.0 leaves no row of {data.where['train']} "
                                  "out; lower it or pass --transfer none")  # fmt: skip


@pytest.mark.slow
def test_a_killed_distillation_resumes_to_the_uninterrupted_result(teacher, tiny_model_dir, sst2_dir, transfer_file, tmp_path):
    uninterrupted = run_distill(*student_args(teacher, tiny_model_dir, sst2_dir, tmp_path / "whole", transfer_file))
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    steps = json.loads((tmp_path / "whole" / "trainer_state.json").read_text())["global_step"] // EPOCHS
    output_dir = tmp_path / "killed"
    command = [sys.executable, str(ROOT / "run_distill.py"),
               *map(str, student_args(teacher, tiny_model_dir, sst2_dir, output_dir, transfer_file))]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    first_checkpoint = output_dir / f"checkpoint-{steps}" / "trainer_state.json"
    while process.poll() is None and not first_checkpoint.is_file():
        time.sleep(0.05)
    while process.poll() is None:  # the Trainer writes trainer_state.json last: once it parses, the checkpoint is whole
        try:
            json.loads(first_checkpoint.read_text())
            break
        except ValueError:
            time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (output_dir / "all_results.json").exists()

    resumed = run_distill(*student_args(teacher, tiny_model_dir, sst2_dir, output_dir, transfer_file))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert outcome(output_dir) == outcome(tmp_path / "whole")
    assert history_without_timings(output_dir)[:-1] == history_without_timings(tmp_path / "whole")[:-1]
    assert (output_dir / "distillation.json").read_text() == (tmp_path / "whole" / "distillation.json").read_text()


@pytest.mark.parametrize("case", ["missing", "unfinished", "labels", "other_labels", "split", "temperature", "alpha", "empty"])
def test_bad_input_is_refused_in_one_line(case, teacher, tiny_model_dir, sst2_dir, transfer_file, tmp_path):
    bad_teacher = tmp_path / "teacher"
    args = student_args(bad_teacher if case in ("missing", "unfinished", "labels") else teacher, tiny_model_dir, sst2_dir,
                        tmp_path / "out", transfer_file)  # fmt: skip
    if case != "missing":
        shutil.copytree(teacher, bad_teacher, ignore=shutil.ignore_patterns("teacher_logits"))
    if case == "unfinished":
        (bad_teacher / "all_results.json").unlink()
    if case == "labels":  # a teacher trained on the labels in the other order
        config = json.loads((bad_teacher / "config.json").read_text())
        config["id2label"], config["label2id"] = {"0": "positive", "1": "negative"}, {"positive": 0, "negative": 1}
        (bad_teacher / "config.json").write_text(json.dumps(config))
    if case == "other_labels":  # the student's own data (issue 28), labelled bad / good: not the teacher's classes
        lines = (sst2_dir / "train.tsv").read_text().replace("\tnegative\n", "\tbad\n").replace("\tpositive\n", "\tgood\n").splitlines()
        (tmp_path / "mine.tsv").write_text("\n".join(lines[:401]) + "\n")
        args[args.index("--data_dir") : args.index("--data_dir") + 2] = ["--train_file", tmp_path / "mine.tsv"]
    extra = {"temperature": ["--temperature", "0"], "alpha": ["--alpha", "1.5"], "split": ["--split_seed", "7"],
             "empty": ["--transfer_file", tmp_path / "empty.txt"]}.get(case, [])  # fmt: skip
    (tmp_path / "empty.txt").write_text("")
    expected = {
        "missing": f"--teacher {bad_teacher}: run folder not found; pass the --output_dir of a finished run_finetune.py run",
        "unfinished": f"--teacher {bad_teacher}: the run is unfinished (no all_results.json); rerun its training command "
        "to finish it (it resumes from its last checkpoint), then distil from it",
        "labels": f"--teacher {bad_teacher}: its labels ['positive', 'negative'] are not the student's ['negative', "
        "'positive'] (names and order); distil from a teacher trained on the same label set",
        "other_labels": f"--teacher {teacher}: its labels ['negative', 'positive'] are not the student's ['bad', 'good'] "
        "(names and order); distil from a teacher trained on the same label set",
        "split": f"--teacher {teacher}: trained on other rows than the student's (split_seed 42 → 7), maybe on the "
        "student's validation rows; distil from a teacher run with the student's data settings",
        "temperature": "--temperature 0.0: must be > 0 (1 leaves the logits as they are)",
        "alpha": "--alpha 1.5: must be in [0, 1] (1: gold labels only, 0: the teacher's only)",
        "empty": f"--transfer_file {tmp_path / 'empty.txt'}: file is empty; expected one review per line",
    }[case]
    result = run_distill(*args, *extra)
    assert last_error_line(result) == f"run_distill.py: error: {expected}"
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_the_students_settings_are_refused_without_a_teacher_or_with_a_filled_last_batch():
    with pytest.raises(ProjectError, match="--teacher: a student needs one"):
        parse_args(["--config", "recipes/distill.yaml", "--model_name_or_path", "m", "--data_dir", "d"],
                   training_class=DistillationArguments)  # fmt: skip
    with pytest.raises(ProjectError, match="--fill_last_batch and --cuda_graph_step"):
        parse_args(["--config", "recipes/distill.yaml", "--model_name_or_path", "m", "--data_dir", "d", "--teacher", "t",
                    "--fill_last_batch", "true"], training_class=DistillationArguments)  # fmt: skip


@pytest.mark.slow
def test_a_seed_study_of_students_trains_each_against_the_teacher(teacher, tiny_model_dir, sst2_dir, transfer_file, tmp_path):
    study = subprocess.run(
        [sys.executable, str(ROOT / "run_seeds.py"), "--seeds", "1", "2", "--vary", "init", "--output_dir", str(tmp_path),
         "--config", "recipes/distill.yaml", "--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir),
         "--sample_fraction", "0.05", "--max_length", "32", "--num_train_epochs", "1", "--learning_rate", "1e-3",
         "--teacher", str(teacher), "--transfer", "none", "--transfer_file", str(transfer_file)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert study.returncode == 0, study.stderr[-3000:]
    for seed in (1, 2):
        assert json.loads((tmp_path / f"seed-{seed}" / "distillation.json").read_text())["transfer"]["given"] == 200
        assert "python run_distill.py" in (tmp_path / f"seed-{seed}" / "README.md").read_text()
    assert json.loads((tmp_path / "seeds.json").read_text())["seeds"] == [1, 2]
