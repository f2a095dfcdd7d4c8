"""A hyperparameter search on Optuna, each trial an ordinary run trained by `training.train` in
OUTPUT_DIR/trial-<number>/, scored on its validation split only; then the winner confirmed by a seed study and the
whole search reported as what the budget buys. One module a step (docs/development.md, "A search, step by step"):

- `plan`: the search's arguments, every input checked before anything is written, the baseline;
- `storage`: the study's storage (a journal file in OUTPUT_DIR, or a database URL for workers on many machines), the
  study joined and checked to be a search of the same space, settings and sampler; each trial's sampler;
- `workers`: who is alive (host, process id and start time; a database's heartbeat across machines), a dead
  worker's trial failed and its configuration queued again (up to MAX_ATTEMPTS attempts);
- `trials`: exactly TRIALS complete trials, however many workers; each trial trained, a retry going on with the
  failed trial's run;
- `run`: the search from start to report (`run_search`): the worker that ran the highest-numbered trial (or a command
  started after the search ended) confirms the winner, a seed study over SEEDS in OUTPUT_DIR/confirmation/, and writes
  the report;
- `report` (with `curve`, `verdict`, `plots`): the record built once from the facts, written as search.json,
  search.md, trials.csv and the plots.

Ctrl-C, SIGTERM and a failed run mark the trial failed and queue it again, then stop the worker in one line; the same
command goes on."""

from .plan import OWNED, Search, SearchArguments, plan_search
from .run import run_search
from .storage import masked

__all__ = ["OWNED", "Search", "SearchArguments", "masked", "plan_search", "run_search"]
