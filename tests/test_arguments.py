"""Bad arguments fail before any training starts, with one line naming the argument and the allowed values;
model folders load safely (safetensors only, no code run unless asked)."""

import json
import os
import subprocess
import sys
from dataclasses import fields

import pytest
import torch
from transformers import DistilBertTokenizer

from errors import ProjectError
from sst_data import LABEL_NAMES
from training import DataArguments, ModelArguments, load_model_and_tokenizer, parse_args
from training_report import push_run

from .conftest import ROOT, model_folder_without, train_run


def test_help_describes_every_setting_of_ours(capsys):
    """argparse formats each help text with %: a bare one in ours would crash --help (it did, for "13%")."""
    with pytest.raises(SystemExit) as stop:
        parse_args(["--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for dataclass_type in (ModelArguments, DataArguments):
        for setting in fields(dataclass_type):
            assert " ".join(setting.metadata["help"].replace("%%", "%").split()) in text, setting.name


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--learning_rate", "0"], "--learning_rate 0.0: must be > 0"),
        (["--learning_rate=-2e-5"], "--learning_rate -2e-05: must be > 0"),
        (["--per_device_train_batch_size", "0"], "--per_device_train_batch_size 0: must be an integer >= 1"),
        (["--per_device_eval_batch_size", "0"], "--per_device_eval_batch_size 0: must be an integer >= 1"),
        (["--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps 0: must be an integer >= 1"),
        (["--num_train_epochs", "0"], "--num_train_epochs 0.0: must be > 0 (or set --max_steps > 0)"),
        (["--sample_fraction", "0"], "--sample_fraction 0.0: must be in (0, 1]"),
        (["--sample_fraction", "1.5"], "--sample_fraction 1.5: must be in (0, 1]"),
        (["--validation_fraction", "1"], "--validation_fraction 1.0: must be in (0, 1)"),
        (["--validation_fraction=-0.3"], "--validation_fraction -0.3: must be in (0, 1)"),
        (["--max_length", "2"], "--max_length 2: must be at least 3 (and at most the model's limit)"),
        (["--text_column", "label"], "--text_column and --label_column are both 'label': name two columns"),
        (["--do_train"], "--do_train: a run always trains, validates each epoch and evaluates; drop the flag"),
        (["--do_eval"], "--do_eval: a run always trains, validates each epoch and evaluates; drop the flag"),
        (["--do_predict"], "--do_predict: a run always trains, validates each epoch and evaluates; drop the flag"),
        (["--seed", "-5"], "--seed -5: seeds are integers from 0 to 4294967295"),
        (["--data_seed", "4294967296"], "--data_seed 4294967296: seeds are integers from 0 to 4294967295"),
        (["--split_seed", "-1"], "--split_seed -1: seeds are integers from 0 to 4294967295"),
        (["--num_train_epochs", "four"], "argument --num_train_epochs: invalid float value: 'four'"),
        (["--hub_model_id", "bad", "id"], "unrecognized arguments: id; see --help (a value with spaces needs quotes)"),
    ],
)
def test_setting_that_cannot_mean_anything_is_refused_while_parsing(argv, message):
    with pytest.raises(ProjectError) as err:
        parse_args(argv)
    assert str(err.value) == message


@pytest.fixture
def run_error(tiny_model_dir, sst2_dir, tmp_path):
    """main(ARGS) on the tiny model and real data: the one-line message it stops with, before any training."""

    def run(*argv: str) -> str:
        output_dir = tmp_path / "out"
        defaults = ["--model_name_or_path", str(tiny_model_dir), "--data_dir", str(sst2_dir),
                    "--output_dir", str(output_dir)]  # fmt: skip
        with pytest.raises(ProjectError) as err:
            train_run([*defaults, *argv])
        message = str(err.value)
        assert "\n" not in message
        assert not list(output_dir.glob("checkpoint-*")) and not (output_dir / "model.safetensors").exists()
        return message

    return run


def test_max_length_above_the_model_limit(run_error):
    # The tiny model has 128 positions (its tokenizer allows 512): the smaller limit wins.
    assert run_error("--max_length", "600") == "--max_length 600: above the model's limit of 128 tokens; pass 3 to 128"


def test_data_folder_without_train_tsv(run_error, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dev.tsv").write_text("review\tlabel\nok\tpositive\n")
    assert run_error("--data_dir", str(tmp_path / "data")) == (
        f"{tmp_path}/data: holds no train.tsv; pass --data_dir with a folder holding train.tsv"
    )


def test_too_small_a_sample_to_split(run_error):
    assert run_error("--sample_fraction", "0.0002") == (
        "1 sampled rows split into 0 train / 1 validation rows; need at least 1 to train on and 2 to validate on: "
        "raise --sample_fraction or change --validation_fraction"
    )


def test_too_small_a_sample_to_train_on_beside_the_dev_split_is_refused_before_the_model_loads(run_error):
    assert run_error("--validation_split", "dev", "--sample_fraction", "0.00007") == (
        "--validation_split dev: the sample and dev.tsv give 0 train / 872 validation rows; need at least 1 to train on "
        "and 2 to validate on: raise --sample_fraction, or give dev.tsv at least 2 reviews"
    )


def test_missing_model_folder_is_not_blamed_on_the_hub_and_leaves_no_run_folder(run_error, tmp_path):
    assert run_error("--model_name_or_path", str(tmp_path / "no-model")) == (
        f"--model_name_or_path {tmp_path}/no-model: folder not found; pass a model folder or a Hub model id"
    )
    assert not (tmp_path / "out").exists()  # checked before the run folder is made or its settings written


def test_resume_from_a_folder_that_is_no_checkpoint(run_error, tmp_path):
    assert run_error("--resume_from_checkpoint", str(tmp_path / "checkpoint-8")) == (
        f"--resume_from_checkpoint {tmp_path}/checkpoint-8: not a complete checkpoint; "
        "pass a checkpoint-N folder holding trainer_state.json, or omit the flag to resume from the newest"
    )
    assert run_error("--resume_from_checkpoint", str(tmp_path / "checkpoint-8"), "--overwrite_output_dir") == (
        "--resume_from_checkpoint continues a run, --overwrite_output_dir starts over: pass one of them"
    )


def test_model_folder_with_pickled_weights_only(run_error, tiny_model_dir, tmp_path):
    folder = model_folder_without(tiny_model_dir, tmp_path, "model.safetensors")
    torch.save({}, folder / "pytorch_model.bin")  # a pickle: never loaded
    assert run_error("--model_name_or_path", str(folder)) == (
        f"--model_name_or_path {folder}: no model.safetensors; weights load from safetensors only "
        "(a pickled pytorch_model.bin can run code): convert them with model.save_pretrained(folder)"
    )


def test_model_folder_without_tokenizer(run_error, tiny_model_dir, tmp_path):
    folder = model_folder_without(tiny_model_dir, tmp_path, "tokenizer.json", "tokenizer_config.json")
    assert run_error("--model_name_or_path", str(folder)) == (
        f"--model_name_or_path {folder}: no tokenizer (tokenizer.json or vocab.txt or vocab.json or tokenizer.model "
        "or spiece.model); pass a folder holding the tokenizer too (tokenizer.save_pretrained(folder))"
    )


def test_model_code_runs_only_with_trust_remote_code(run_error, tiny_model_dir, tmp_path):
    """A model folder shipping its own Python: not imported unless --trust_remote_code is given."""
    folder = model_folder_without(tiny_model_dir, tmp_path)
    marker = tmp_path / "code-ran"
    (folder / "custom.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from transformers import DistilBertConfig, DistilBertForSequenceClassification\n"
        "class CustomConfig(DistilBertConfig):\n    model_type = 'custom'\n"
        "class CustomModel(DistilBertForSequenceClassification):\n    config_class = CustomConfig\n"
    )
    config = (folder / "config.json").read_text().replace('"model_type": "distilbert"', '"model_type": "custom"')
    auto_map = {"AutoConfig": "custom.CustomConfig", "AutoModelForSequenceClassification": "custom.CustomModel"}
    (folder / "config.json").write_text(json.dumps(json.loads(config) | {"auto_map": auto_map}))

    assert run_error("--model_name_or_path", str(folder)) == (
        f"--model_name_or_path {folder}: the model needs its own Python code to load, which is never run "
        "unless asked; pass --trust_remote_code if you trust that code"
    )
    assert not marker.exists()
    model, _ = load_model_and_tokenizer(str(folder), LABEL_NAMES, trust_remote_code=True)
    assert marker.exists() and type(model).__name__ == "CustomModel"  # the flag does run it


@pytest.mark.parametrize(
    "repo_id, reason",
    [
        ("a/b/c", "Repo id must be in the form 'repo_name' or 'namespace/repo_name'"),
        ("/x", "Repo id must use alphanumeric chars"),
        ("you/", "Repo id must use alphanumeric chars"),
        ("bad..name/x", "Cannot have -- or .. in repo_id"),
        ("bad id", "Repo id must use alphanumeric chars"),
    ],
)
def test_a_hub_id_the_hub_would_refuse_is_refused_before_training_and_before_a_dry_run_lists(repo_id, reason, tmp_path):
    with pytest.raises(ProjectError) as err:
        parse_args(["--hub_model_id", repo_id, "--push_to_hub_dry_run"])
    assert str(err.value).startswith(f"--hub_model_id {repo_id}: not a Hub model id ({reason}")
    assert str(err.value).endswith("; give `name` or `user/name`")
    with pytest.raises(ProjectError) as err:  # checked before the folder is even looked at
        push_run(tmp_path / "no-run", repo_id, dry_run=True)
    assert str(err.value).startswith(f"--hub_model_id {repo_id}: not a Hub model id")


def test_the_output_folders_name_as_the_default_hub_id_is_checked_too(tmp_path):
    with pytest.raises(ProjectError) as err:
        parse_args(["--output_dir", str(tmp_path / "my run"), "--push_to_hub_dry_run"])
    assert str(err.value).startswith(f"--hub_model_id (default: the name of {tmp_path / 'my run'}) my run: not a Hub model id")


def test_a_tokenizer_that_does_not_fit_the_model_is_refused_before_training(run_error, tiny_model_dir, tmp_path):
    """transformers 5's `vocab_file=` builds a working tokenizer of 5 tokens: every word [UNK], training to chance."""
    folder = model_folder_without(tiny_model_dir, tmp_path, "tokenizer.json", "tokenizer_config.json")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    DistilBertTokenizer(vocab_file=str(vocab)).save_pretrained(folder)
    assert run_error("--model_name_or_path", str(folder)) == (
        f"--model_name_or_path {folder}: its tokenizer has 5 tokens for the model's 30522 embeddings; pass a folder "
        "holding the model's own tokenizer (tokenizer.save_pretrained(folder) with the model)"
    )


def test_a_tokenizer_that_maps_most_words_to_unk_is_refused_before_training(run_error, tiny_model_dir, tmp_path):
    """A full-size vocabulary that is not this text's (another language's, say): most words unknown."""
    folder = model_folder_without(tiny_model_dir, tmp_path, "tokenizer.json", "tokenizer_config.json")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(f"zz{i}" for i in range(30517))]
    DistilBertTokenizer(vocab={word: i for i, word in enumerate(words)}).save_pretrained(folder)
    message = run_error("--model_name_or_path", str(folder))
    assert message.startswith(f"--model_name_or_path {folder}: its tokenizer maps ")
    assert " of the tokens of 256 training reviews to [UNK]; pass a folder holding the model's own tokenizer" in message


@pytest.mark.slow  # a whole push_to_hub.py start for one argument; tests/test_make.py checks the quoting without one
def test_make_push_passes_a_hub_id_with_a_space_whole_to_be_refused_in_one_line(tmp_path):
    """The Makefile quotes HUB_MODEL_ID: "bad id" reaches the check as one id, not as an id and a stray argument."""
    result = subprocess.run(["make", "-s", "push", "HUB_MODEL_ID=bad id", "DRY_RUN=1", f"OUTPUT_DIR={tmp_path}"],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode != 0
    assert "\npush_to_hub.py: error: --hub_model_id bad id: not a Hub model id (" in f"\n{result.stderr}"


@pytest.mark.parametrize("target", ["reproduce", "seeds", "search"])
def test_make_says_a_missing_recipe_before_preparing_or_downloading_anything(target, tmp_path):
    """Without DATA_DIR the recipe's data folder is a prerequisite: a missing recipe must not start its download."""
    command = ["make", "-s", target, "RECIPE=recipes/nope.yaml", f"OUTPUT_DIR={tmp_path}/out", "PREPARED_DATA=no/such"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "make: RECIPE=recipes/nope.yaml: recipe file not found; pass a YAML file such as recipes/notebook.yaml"
    )
    assert not (tmp_path / "out").exists() and not (ROOT / "no").exists()


# What a command has not imported when it refuses an argument: transformers' model code, the data library, the plots
# and the Trainer (counted rather than timed: a refusal took 6 to 20 s when it imported them, about 2.5 s of CPU now).
HEAVY = ("transformers.modeling_utils", "transformers.trainer", "datasets", "matplotlib")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus", "1"], "unrecognized arguments: --bogus 1; see --help (a value with spaces needs quotes)"),
        (["--learning_rate", "0"], "--learning_rate 0.0: must be > 0"),
    ],
)
def test_a_refused_argument_is_said_before_the_model_code_data_library_or_trainer_load(argv, message):
    code = ("import sys, run_finetune\n"
            f"try:\n    run_finetune.main({argv!r})\nexcept Exception as err:\n    print(err)\n"
            f"print([name for name in {HEAVY!r} if name in sys.modules])")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert result.stdout.splitlines() == [message, "[]"], result.stdout + result.stderr[-3000:]
