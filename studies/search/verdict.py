"""A search's conclusions in words: the verdict (the expected best at 1, 5 and K trials, the best trial, what its
confirmation measured, the baseline, where the notebook's result falls), what the trials were scored on, and the notes
on the confirmation."""

import json
from pathlib import Path

from run_folder import CARD_INPUTS
from training_report import NOTEBOOK_ACCURACY, split_names

from ..summary import against_the_notebook


def metric_name(metric: str) -> str:
    """`eval_macro_f1` as the reports say it: macro-F1."""
    return {"eval_accuracy": "accuracy", "eval_macro_f1": "macro-F1"}.get(metric, metric)


def where_the_notebook_falls(curve: dict, confirmation: dict | None) -> str:
    target = NOTEBOOK_ACCURACY[-1]
    mean = curve["mean"]
    reached = next((n for n, value in zip(curve["n"], mean) if value >= target), None)
    if reached is None:
        text = (
            f"the notebook's {target:.3f} (DistilBERT, one run) lies above the expected best at every budget up to "
            f"{len(mean)} trials (at most {mean[-1]:.4f})"
        )
    else:
        text = (
            f"the notebook's {target:.3f} (DistilBERT, one run) is reached by the expected best after {reached} "
            f"trial{'s' * (reached > 1)}"
        )
    if confirmation:
        text += f"; over the winner's confirming runs, {against_the_notebook(confirmation['metrics']['eval_accuracy'])}"
    return text


def verdict(
    trials: list[dict], curve: dict, best: dict, confirmation: dict | None, baseline: dict | None, model: str,
    metric: str = "eval_accuracy", notebook: bool = True,
) -> str:  # fmt: skip
    k = len(curve["n"])
    quoted = [n for n in (1, 5, k) if n <= k]
    parts = [
        f"{n} trial{'s' * (n > 1)}: {curve['mean'][n - 1]:.4f} ({curve['lower'][n - 1]:.4f}–{curve['upper'][n - 1]:.4f})"
        for n in dict.fromkeys(quoted)
    ]
    text = (
        f"Verdict: over {k} complete trials of {model}, the expected best validation {metric_name(metric)} after "
        f"{'; after '.join(parts)} (95% bootstrap band). The best trial, {best['number']}, scored {best['value']:.4f}"
    )
    if confirmation:
        accuracy = confirmation["metrics"][metric]
        seeds = len(accuracy["values"])
        curse = best["value"] - accuracy["mean"]
        text += (
            f"; confirmed over {seeds} seeds (each its own split or sample, batch order and initialisation) its "
            f"configuration gives {accuracy['mean']:.4f} ± {accuracy['std']:.4f} on validation"
        )
        for key, title in ((metric.replace("eval_", "dev_"), "dev"), (metric.replace("eval_", "test_"), "test")):
            if key in confirmation["metrics"]:
                text += f", {confirmation['metrics'][key]['mean']:.4f} ± {confirmation['metrics'][key]['std']:.4f} on {title}"
        if curse >= 0:
            text += f": the trial's score overstates its configuration by {curse:.4f} (the winner's curse, measured)"
        else:  # the other seeds did better than the search's own: no curse measured, only seed-to-seed spread
            text += f": the trial's score understates its configuration by {-curse:.4f} (no winner's curse measured)"
    else:
        text += " (not confirmed: SEEDS=none; a selected trial's score is biased upward)"
    if baseline:
        text += (
            f". The recipe's own seed study ({baseline['path']}) gives {baseline['mean']:.4f} ± {baseline['std']:.4f}"
            f" on validation"
        )
        if confirmation:
            text += f", {confirmation['metrics'][metric]['mean'] - baseline['mean']:+.4f} for the tuning"
    if not notebook or metric != "eval_accuracy":  # the notebook's one number is an accuracy on its own data
        return text + "."
    return text + f". Where the notebook stands: {where_the_notebook_falls(curve, confirmation)}."


def selected_on(output_dir: Path, data_args, source: dict) -> str:
    """The split the trials were scored on, as a trial's card names it."""
    cards = sorted(output_dir.glob(f"trial-*/{CARD_INPUTS}"))
    if cards:
        return json.loads(cards[0].read_text(encoding="utf-8"))["splits"][0]["title"]
    return split_names(data_args.validation_fraction, data_args.validation_split, source)["eval"].title


def hygiene(data_args) -> str:
    """What the search never scored, and where the validation split is the official dev split, that it selected on it."""
    text = (
        "dev and test were never scored during the search: each trial evaluated its validation split only "
        "(train(validation_only=True)); the confirmation scores them."
    )
    if data_args.validation_split == "dev":
        text += (
            " Here the validation split IS the official dev split (validation_split dev): the search "
            "selected on dev, so the confirmation's dev scores are not held out; test is."
        )
    return text


def confirmation_notes(arguments, seeds: list[int]) -> list[str]:
    """A confirming seed that repeats the winning trial's own run (its split and seeds): its score was selected."""
    _, data_args, training_args = arguments
    if not any(data_args.split_seed == training_args.data_seed == training_args.seed == seed for seed in seeds):
        return []
    repeated = f"Seed {training_args.seed} repeats the winning trial's own run (its split and seeds), "
    return [repeated + "whose score was selected: the confirmed mean is biased up by it."]
