"""A run's output folder never holds results that disagree with what was trained: a rerun resumes only its own
run, overwriting leaves nothing stale, the finished marker is written last, and a folder that cannot be written
is refused before anything loads."""

import json
import logging
import shutil
from dataclasses import fields

import pytest

import run_folder.files
import training.run
import training_report.model_card
from errors import ProjectError
from run_folder import RESULT_DEFINING, check_rerun, claim_output_dir, prepare_output_dir, read_settings, run_settings
from training import (
    DataArguments,
    DistillationArguments,
    ModelArguments,
    evaluate_splits,
    fit,
    parse_args,
    setup,
    write_reports,
)
from training_report import push_run

from .conftest import outcome, short_run, train_run, write_tsv

WAYS_OUT = "pass --overwrite_output_dir to start over (make: ARGS=--overwrite_output_dir), or choose another --output_dir"


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory, tiny_model_dir, sst2_dir):
    """A 2-epoch run whose last writes were cut off: checkpoints and settings on disk, no all_results.json."""
    output_dir = tmp_path_factory.mktemp("unfinished") / "out"
    train_run(short_run(tiny_model_dir, sst2_dir, output_dir, epochs=2))
    finished = outcome(output_dir)
    (output_dir / "all_results.json").unlink()
    return output_dir, finished


def refusal(*argv) -> str:
    with pytest.raises(ProjectError) as err:
        train_run(list(argv))
    return str(err.value)


def test_rerun_with_other_settings_is_refused_naming_each_difference(unfinished, tiny_model_dir, minilm_dir, sst2_dir, tmp_path):
    output_dir, _ = unfinished
    same = short_run(tiny_model_dir, sst2_dir, output_dir, epochs=2)
    before = sorted(p.name for p in output_dir.iterdir())
    where = f"--output_dir {output_dir} holds an unfinished run with other settings"

    # A hyperparameter, and the sample: old → new, each named.
    assert refusal(*same, "--learning_rate", "2e-5", "--num_train_epochs", "3", "--sample_fraction", "0.5") == (
        f"{where} (learning_rate 0.001 → 2e-05; num_train_epochs 2.0 → 3.0; sample_fraction 0.05 → 0.5); {WAYS_OUT}"
    )
    # Another model: its weights differ.
    assert refusal(*same, "--model_name_or_path", str(minilm_dir)).startswith(f"{where} (model_sha256 ")
    # The same weights with another tokenizer: other input ids.
    retokenized = shutil.copytree(tiny_model_dir, tmp_path / "retokenized")
    config = json.loads((retokenized / "tokenizer_config.json").read_text())
    (retokenized / "tokenizer_config.json").write_text(json.dumps(config | {"do_lower_case": False}))
    assert refusal(*same, "--model_name_or_path", str(retokenized)).startswith(f"{where} (model_sha256 ")
    # Other data: one label changed in a copy of train.tsv.
    edited = write_tsv(tmp_path / "data", (sst2_dir / "train.tsv").read_bytes().replace(b"\tpositive\n", b"\tnegative\n", 1))
    shutil.copy(sst2_dir / "dev.tsv", edited)
    assert refusal(*same, "--data_dir", str(edited)).startswith(f"{where} (data_sha256 ")
    # An explicit checkpoint is checked against the run it belongs to.
    checkpoint = output_dir / "checkpoint-16"
    assert refusal(*same, "--learning_rate", "2e-5", "--resume_from_checkpoint", str(checkpoint)) == (
        f"--resume_from_checkpoint's run holds an unfinished run with other settings (learning_rate 0.001 → 2e-05); {WAYS_OUT}"
    )
    # ... and the run it resumes into must not be another run's folder.
    other = tmp_path / "other"
    other.mkdir()
    (other / "all_results.json").write_text("{}")
    assert refusal(*short_run(tiny_model_dir, sst2_dir, other, epochs=2), "--resume_from_checkpoint", str(checkpoint)) == (
        f"--output_dir {other} holds files of another run; the resumed run would write among them: choose an empty "
        f"--output_dir, or the checkpoint's own run folder {output_dir}"
    )
    assert [p.name for p in other.iterdir()] == ["all_results.json"]
    assert sorted(p.name for p in output_dir.iterdir()) == before  # nothing touched


def test_rerun_with_the_same_settings_resumes_whatever_the_paths_or_logging(unfinished, tiny_model_dir, sst2_dir, caplog):
    output_dir, finished = unfinished
    spelled_differently = f"{output_dir.parent}/./{output_dir.name}/"
    caplog.set_level(logging.INFO, logger="run_folder")
    train_run([*short_run(tiny_model_dir, f"{sst2_dir}/", spelled_differently, epochs=2),
               "--logging_steps", "3", "--disable_tqdm", "true", "--report_to", "none"])  # fmt: skip
    assert f"Resuming the unfinished run from {output_dir}/checkpoint-16" in caplog.text
    assert outcome(output_dir) == finished


def test_a_setting_added_later_counts_at_its_old_value_and_a_refused_runs_settings_alone_are_no_run(tmp_path, tiny_model_dir, sst2_dir):
    """A run recorded before --last_layer_cls_only, --dropout and --freeze_word_embeddings existed computed every
    position with the model's dropout and trained every weight: it is the same run as one without those flags,
    another run than one with any of them. A folder holding only the settings of a refused run (what `make seeds`
    checks before each seed) stands in no one's way."""
    argv = short_run(tiny_model_dir, sst2_dir, tmp_path / "run", epochs=2)
    current = run_settings(*parse_args(argv))
    older = {key: value for key, value in current.items() if key not in ("last_layer_cls_only", "dropout", "freeze_word_embeddings")}
    run_dir = tmp_path / "run"
    (run_dir / "checkpoint-8").mkdir(parents=True)  # something to resume: the settings are compared
    (run_dir / "run_settings.json").write_text(json.dumps(older))
    check_rerun(run_dir, current)
    for flags, difference in [(["--last_layer_cls_only", "true"], "last_layer_cls_only false → true"),
                              (["--dropout", "0"], "dropout null → 0.0"),
                              (["--freeze_word_embeddings", "true"], "freeze_word_embeddings false → true")]:  # fmt: skip
        with pytest.raises(ProjectError, match=f"other settings \\({difference}\\)"):
            check_rerun(run_dir, run_settings(*parse_args([*argv, *flags])))
    (run_dir / "checkpoint-8").rmdir()
    check_rerun(run_dir, current | {"learning_rate": 0.5})


def test_a_run_that_kept_nothing_is_replaced_and_the_log_says_so(tmp_path, tiny_model_dir, sst2_dir, caplog):
    """Stopped before its first checkpoint, a run leaves only its settings: another run may start there, and says
    that it replaces them."""
    argv = short_run(tiny_model_dir, sst2_dir, tmp_path / "run", epochs=2)
    with caplog.at_level(logging.INFO, logger="run_folder.folder"):
        for flags in ([], ["--learning_rate", "0.5"]):
            arguments = parse_args([*argv, *flags])
            checkpoint, settings = prepare_output_dir(*arguments)
            assert checkpoint is None
            if not flags:
                assert "kept nothing" not in caplog.text  # a new folder: nothing replaced
            claim_output_dir(settings, arguments.training)  # what setup() does once the data and the model have loaded
    assert f"{tmp_path / 'run'} holds only the settings of a run that kept nothing: this run replaces them" in caplog.text
    assert read_settings(tmp_path / "run" / "run_settings.json")["learning_rate"] == 0.5


def test_overwrite_removes_every_output_of_the_older_run_and_keeps_the_rest(tmp_path, tiny_model_dir, sst2_dir, caplog, capsys):
    output_dir = tmp_path / "out"
    train_run(short_run(tiny_model_dir, sst2_dir, output_dir, epochs=2))  # its checkpoint: checkpoint-16
    # What an older run with other splits and a push could have left beside it, and a file of the user's.
    for stale in ("test_misclassified.tsv", "test_results.json", "test_confusion_matrix.png", ".all_results.json.7.tmp"):
        (output_dir / stale).write_text("old")
    (output_dir / "hub_upload").mkdir()
    (output_dir / "hub_upload" / "model.safetensors").write_text("old")
    (output_dir / "notes.txt").write_text("mine")
    (output_dir / "my-plots").mkdir()

    train_run([*short_run(tiny_model_dir, sst2_dir, output_dir, epochs=1), "--overwrite_output_dir",
                       "--eval_strategy", "no"])  # fmt: skip
    names = sorted(p.name for p in output_dir.iterdir())
    assert not [n for n in names if n.startswith(("test_", "hub_upload", "."))]
    assert "notes.txt" in names and "my-plots" in names and (output_dir / "notes.txt").read_text() == "mine"
    assert f"--overwrite_output_dir left what this suite did not write in {output_dir}: my-plots/, notes.txt" in caplog.text
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert not any("eval_loss" in entry for entry in state["log_history"])  # --eval_strategy no: no validation per epoch
    assert [n for n in names if n.startswith("checkpoint-")] == ["checkpoint-8"]  # the new run's alone

    # A dry run lists the new run's files only: nothing of the older run, nothing of the user's.
    capsys.readouterr()
    push_run(output_dir, "user/run", dry_run=True)
    listed = [line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert "README.md" in listed and "model.safetensors" in listed
    assert not [name for name in listed if name.startswith(("test_", "hub_upload", "notes", "my-plots", "checkpoint-"))]


def test_the_finished_marker_is_written_last_whichever_write_fails(tmp_path, tiny_model_dir, sst2_dir, monkeypatch):
    """A failure at each write after training leaves no all_results.json; the run's parts, trained once, then finish
    it. (Each write fails in turn: the evaluation of a split, the table, the plot, the report, the card, the marker.)"""
    arguments = parse_args(short_run(tiny_model_dir, sst2_dir, tmp_path / "out", epochs=1))
    run = setup(arguments)
    results = {"train": fit(run.trainer, run.checkpoint, run.runtime)}
    full_disk = OSError(28, "No space left on device")
    with monkeypatch.context() as patch:
        patch.setattr(training.run, "write_split_evaluation", lambda *a, **k: (_ for _ in ()).throw(full_disk))
        with pytest.raises(OSError):
            evaluate_splits(run.trainer, run.tokenized, run.splits)
    evaluated, evaluations = evaluate_splits(run.trainer, run.tokenized, run.splits)
    writers = [(training.run, "write_epoch_table"), (training.run, "plot_epochs"), (training.run, "write_evaluation_report"),
               (training_report.model_card, "write_atomic"), (run_folder.files, "write_atomic")]  # fmt: skip
    for module, name in writers:
        with monkeypatch.context() as patch:
            patch.setattr(module, name, lambda *a, **k: (_ for _ in ()).throw(full_disk))
            with pytest.raises(OSError):
                write_reports(run.trainer, arguments, results | evaluated, evaluations, run.splits)
        assert not (tmp_path / "out" / "all_results.json").exists(), name
    write_reports(run.trainer, arguments, results | evaluated, evaluations, run.splits)
    newest = max((p for p in (tmp_path / "out").rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == "all_results.json"
    assert {"README.md", "evaluation.md", "epoch_stats.md", "training_curves.png"} <= {p.name for p in (tmp_path / "out").iterdir()}


@pytest.mark.parametrize(
    "output_dir, message",
    [
        ("{tmp}/a-file", "--output_dir {tmp}/a-file: is a file, not a folder; choose another --output_dir"),
        ("/sys/sst2-run", "--output_dir /sys/sst2-run: cannot write there (Operation not permitted); choose a writable folder"),
        ("/sys/kernel", "--output_dir /sys/kernel: cannot write there ("),
    ],
    ids=["file", "under-read-only-parent", "read-only"],
)
def test_output_folder_that_cannot_be_written_is_refused_before_anything_loads(tmp_path, tiny_model_dir, output_dir, message):
    (tmp_path / "a-file").write_text("not a folder")
    output_dir = output_dir.format(tmp=tmp_path)
    # A data folder that does not exist: the output folder is checked first, so its error is the one raised.
    error = refusal(*short_run(tiny_model_dir, tmp_path / "no-data", output_dir))
    assert error.startswith(message.format(tmp=tmp_path))


def test_no_path_of_this_machine_reaches_the_card_however_it_is_spelled(tmp_path, tiny_model_dir, sst2_dir):
    """The model, data and output folders as the card's command shows them: the model by its name, the data and the
    run where `make data` and the recipes put them (data/, outputs/), never where they are on this machine."""
    argv = short_run(tiny_model_dir, sst2_dir, tmp_path / "out", epochs=1)
    argv[argv.index("--model_name_or_path") : argv.index("--model_name_or_path") + 2] = [f"--model_name_or_path={tiny_model_dir}"]
    train_run([*argv, "--save_strategy", "no"])
    card = (tmp_path / "out" / "README.md").read_text()
    for path in (tiny_model_dir, sst2_dir, sst2_dir.resolve(), tmp_path):
        assert str(path) not in card
    command = next(line for line in card.splitlines() if line.startswith("python run_finetune.py"))
    assert command == (
        f"python run_finetune.py --config recipes/notebook.yaml --model_name_or_path {tiny_model_dir.name} "
        "--data_dir data/sst2 --sample_fraction 0.05 --max_length 32 --output_dir outputs/out --num_train_epochs 1.0 "
        "--learning_rate 0.001"
    )
    assert "with the notebook's `train.tsv` in `data/sst2`" in card


# Reviewed and found not to change the trained weights or the reported metrics: where and how results are written,
# logged, checkpointed and evaluated in batches. A field in neither list (a new transformers release) fails below.
NOT_RESULT_DEFINING = {
    "model_name_or_path", "trust_remote_code", "data_dir", "output_dir", "overwrite_output_dir", "resume_from_checkpoint",
    "config", "push_to_hub", "push_to_hub_dry_run", "hub_token", "hub_private_repo", "hub_model_id", "hub_strategy",
    "hub_always_push", "hub_revision", "report_to", "run_name", "project", "disable_tqdm", "log_level",
    "log_level_replica", "log_on_each_node", "logging_dir", "logging_strategy", "logging_steps", "logging_first_step",
    "logging_nan_inf_filter", "include_num_input_tokens_seen", "eval_strategy", "eval_steps", "eval_delay",
    "per_device_eval_batch_size", "eval_on_start", "eval_do_concat_batches", "eval_use_gather_object",
    "eval_accumulation_steps", "batch_eval_metrics", "save_strategy", "save_steps", "save_total_limit", "save_on_each_node",
    "save_only_model", "enable_jit_checkpoint", "dataloader_num_workers", "dataloader_pin_memory",
    "dataloader_persistent_workers", "dataloader_prefetch_factor", "dataloader_multiprocessing_context",
    "skip_memory_metrics", "debug", "ddp_timeout", "torch_empty_cache_steps", "local_rank", "do_train", "do_eval",
    "do_predict", "gpu_mode", "train_file", "validation_file", "test_file", "dataset_name", "dataset_config_name",
    "train_split_name", "validation_split_name", "test_split_name", "trackio_space_id", "trackio_bucket_id", "trackio_static_space_id",
    "teacher", "transfer_file",  # a student's: they count by their files' sha256
}  # fmt: skip


def test_every_argument_is_classified_as_result_defining_or_not():
    """The settings fingerprint is an allow-list: an argument nobody classified (a new TrainingArguments field) would
    silently not count; this fails until it is added to RESULT_DEFINING or, reviewed, to the list above."""
    names = {f.name for dataclass_type in (ModelArguments, DataArguments, DistillationArguments) for f in fields(dataclass_type) if f.init}
    assert not RESULT_DEFINING & NOT_RESULT_DEFINING
    assert sorted(names - RESULT_DEFINING - NOT_RESULT_DEFINING) == []
    assert sorted(RESULT_DEFINING - names) == []  # nothing stale in the allow-list either


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty train.tsv", "train.tsv: file is empty"),
        ("header-only train.tsv", "train.tsv: has a header but no rows"),
        ("non-UTF-8 train.tsv", "is not UTF-8"),
        ("no data folder", "no-data"),
        ("no model folder", "--model_name_or_path ./no-model: folder not found"),
        ("Hub id neither cached nor reachable", "--model_name_or_path no-one/no-such-model: no such folder, not in the local"),
        ("a model the flags do not fit", "--max_length 600: above the model's limit of"),
    ],
)  # fmt: skip
def test_a_refused_run_leaves_no_folder_and_an_empty_one_empty(case, message, tmp_path, tiny_model_dir, sst2_dir,
                                                                       monkeypatch):  # fmt: skip
    """The data and the model are checked (the model's source and the data folder with the run's settings, the rows and
    the model's limits as they load) before the output folder is made or anything is written into it."""
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    rows = {"empty train.tsv": b"", "header-only train.tsv": b"review\tlabel\n",
            "non-UTF-8 train.tsv": "review\tlabel\nthe caf\xe9 scene\tpositive\n".encode("latin-1")}  # fmt: skip
    (data / "train.tsv").write_bytes(rows.get(case, (sst2_dir / "train.tsv").read_bytes()))
    model = {"no model folder": "./no-model", "Hub id neither cached nor reachable": "no-one/no-such-model"}
    argv = short_run(model.get(case, tiny_model_dir), tmp_path / "no-data" if case == "no data folder" else data, "out")
    if case == "a model the flags do not fit":
        argv += ["--max_length", "600"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert message in refusal(*argv)
    assert not (tmp_path / "out").exists()
    (tmp_path / "out").mkdir()  # made by the user: left as it was
    assert message in refusal(*argv)
    assert list((tmp_path / "out").iterdir()) == []
