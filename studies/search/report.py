"""A search's report, built once from the facts (the study's trials, the search's plan, the confirmation) as one
record, then written as search.json (the record), search.md (tables and the verdict), trials.csv and the plots
(expected_best.png, importances.png, slice.png), search.json last."""

import csv
import io
import json
from pathlib import Path

import optuna
from optuna.trial import TrialState

from run_folder import write_atomic
from sst_data import describe
from training_report import base_model_name

from ..space import space_record
from ..summary import interval
from .curve import budgets, curve_record
from .plan import DIRECTION, Search
from .plots import optuna_plots, plot_expected_best
from .storage import describe_storage
from .verdict import confirmation_notes, hygiene, metric_name, selected_on, verdict

SEARCH_FILES = ("search.json", "search.md", "trials.csv", "expected_best.png", "importances.png", "slice.png")
CONFIRMED_METRICS = ("eval_accuracy", "dev_accuracy", "test_accuracy", "eval_macro_f1", "eval_loss")


def trial_records(study: optuna.Study, output_dir: Path) -> list[dict]:
    """Every finished trial as search.json lists it (queued and running ones are left out)."""
    trials = study.get_trials(deepcopy=False)
    retried_as = {
        t.user_attrs["retry_of"]: t.number
        for t in trials
        if "retry_of" in t.user_attrs and t.state != TrialState.WAITING
    }
    records = []
    for t in trials:
        if not t.state.is_finished():
            continue
        run = t.user_attrs.get("run")
        notes = []
        if "retry_of" in t.user_attrs:
            notes.append(f"retry of trial {t.user_attrs['retry_of']}")
        if t.state == TrialState.FAIL:
            notes.append(t.user_attrs.get("failure", "failed: its worker died (killed, or its machine lost)"))
        if t.number in retried_as:
            notes.append(f"retried as trial {retried_as[t.number]}")
        records.append(
            {
                "number": t.number,
                "state": t.state.name,
                "params": t.params,
                "value": t.value,
                "run": run if run and (output_dir / run).is_dir() else None,
                "note": "; ".join(notes),
            }
        )
    return records


def best_of(trials: list[dict]) -> dict:
    """The complete trial with the highest value (the earliest of equals)."""
    return max((t for t in trials if t["state"] == "COMPLETE"), key=lambda t: (t["value"], -t["number"]))


def trials_csv(trials: list[dict], params: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "state", "value", "run", "note", *params])
    for t in trials:
        writer.writerow(
            [
                t["number"],
                t["state"],
                "" if t["value"] is None else t["value"],
                t["run"] or "",
                t.get("note", ""),
                *(t["params"].get(p, "") for p in params),
            ]
        )
    return out.getvalue()


def fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def search_markdown(record: dict, params: list[str], slice_drawn: bool) -> str:
    curve, best, confirmation = record["expected_best"], record["best"], record["confirmation"]
    k = len(curve["n"])
    out = io.StringIO()
    out.write(f"# Hyperparameter search `{record['study']}`: {k} complete trials, {record['sampler']} sampler\n\n")
    out.write(f"{record['verdict']}\n\n")
    out.write(
        f"Trials were scored on {record['selected_on']} ({record['metric']}, {record['direction']}d); "
        f"{record['hygiene']}\n\n"
    )
    out.write(f"## Expected best validation {metric_name(record['metric'])} after n trials\n\n")
    out.write(f"Dodge et al. 2019's estimator over the {k} complete trials; band: {curve['band']}.\n\n")
    out.write("| n | expected best | band low | band high |\n| ---: | ---: | ---: | ---: |\n")
    for n in budgets(k):
        out.write(f"| {n} | {curve['mean'][n - 1]:.4f} | {curve['lower'][n - 1]:.4f} | {curve['upper'][n - 1]:.4f} |\n")
    out.write("\n![expected best](expected_best.png)\n\n## The best trial\n\n")
    out.write(f"Trial {best['number']} ({record['best_run']}/): {record['metric']} {best['value']:.4f}\n\n")
    out.write("| flag | value |\n| --- | --- |\n" + "".join(f"| {p} | {fmt(v)} |\n" for p, v in best["params"].items()))
    out.write("\n## Confirmation\n\n")
    if confirmation:
        seeds = confirmation["seeds"]
        out.write(
            f"The best configuration trained once per seed ({', '.join(map(str, seeds))}; each seed sets the "
            f"split, batch-order and initialisation seeds), in `confirmation/` (seeds.md there):\n\n"
        )
        out.write("| metric | mean ± std | min | max | 95% CI |\n| --- | ---: | ---: | ---: | ---: |\n")
        for key in CONFIRMED_METRICS:
            if key in confirmation["metrics"]:
                s = confirmation["metrics"][key]
                out.write(
                    f"| {key} | {s['mean']:.4f} ± {s['std']:.4f} | {s['min']:.4f} | {s['max']:.4f} | {interval(s)} |\n"
                )
        for note in record.get("confirmation_notes", []):
            out.write(f"\n{note}\n")
    else:
        out.write("Not run (SEEDS=none).\n")
    out.write("\n## Trials\n\n| trial | state | value | " + " | ".join(params) + " | run | note |\n")
    out.write("| ---: | --- | ---: |" + " ---: |" * len(params) + " --- | --- |\n")
    for t in sorted(record["trials"], key=lambda t: (t["value"] is None, -(t["value"] or 0), t["number"])):
        value = "" if t["value"] is None else f"{t['value']:.4f}"
        cells = [fmt(t["params"][p]) if p in t["params"] else "" for p in params]
        out.write(
            f"| {t['number']} | {t['state']} | {value} | "
            + " | ".join(cells)
            + f" | {t['run'] or ''} | {t.get('note', '')} |\n"
        )
    out.write("\n## Parameter importances\n\n")
    if record["importances"]:
        out.write(
            "Optuna's default evaluator (PED-ANOVA) over the complete trials: the share of the score's variation "
            "each flag explains, on this search's few trials a rough guide only.\n\n"
        )
        out.write("| flag | importance |\n| --- | ---: |\n")
        out.write("".join(f"| {p} | {v:.3f} |\n" for p, v in record["importances"].items()))
        out.write("\n![importances](importances.png)\n")
    if slice_drawn:
        out.write("\n![each trial's score against each flag](slice.png)\n")
    for note in record["plot_notes"]:
        out.write(f"\n{note}\n")
    return out.getvalue()


def write_search_report(search: Search, study: optuna.Study, trials: list[dict], confirmation: dict | None) -> dict:
    """Every file of the report (SEARCH_FILES) in the search's folder, search.json last; returns its record. `trials`:
    `trial_records`; `confirmation`: the winner's seed study (its seeds.json record), None without SEEDS."""
    output_dir = search.output_dir
    model_args, data_args, _ = search.plan.arguments
    source = describe(data_args)
    best_trial = best_of(trials)
    best = {"number": best_trial["number"], "params": best_trial["params"], "value": best_trial["value"]}
    curve = curve_record([t["value"] for t in trials if t["state"] == "COMPLETE"])
    space = space_record(search.space)
    params = list(space)
    importances, plot_notes = optuna_plots(study, output_dir)
    record = {
        "study": search.study_name,
        "metric": search.metric,
        "direction": DIRECTION,
        "sampler": search.sampler_name,
        "space": space,
        "storage": describe_storage(search),
        "selected_on": selected_on(output_dir, data_args, source),
        "hygiene": hygiene(data_args),
        "trials": trials,
        "best": best,
        "best_run": best_trial["run"],
        "expected_best": curve,
        "confirmation": confirmation,
        "confirmation_notes": confirmation_notes(search.plan.arguments, search.seeds) if confirmation else [],
        "baseline": search.baseline,
        "importances": importances,
        "plot_notes": plot_notes,
    }
    model = base_model_name(model_args.model_name_or_path)
    record["verdict"] = verdict(trials, curve, best, confirmation, search.baseline, model, search.metric, source["notebook"])
    write_atomic(output_dir / "trials.csv", trials_csv(trials, params))
    plot_expected_best(curve, confirmation, search.baseline, search.sampler_name, output_dir / "expected_best.png",
                       search.metric, source["notebook"])  # fmt: skip
    write_atomic(output_dir / "search.md", search_markdown(record, params, (output_dir / "slice.png").exists()))
    write_atomic(output_dir / "search.json", json.dumps(record, indent=2))  # last: the search is reported
    return record
