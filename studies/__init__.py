"""Studies over many runs, each an ordinary run trained by `training.train`: a seed study (the spread of one recipe
over seeds, and where the notebook's result falls in it) and a hyperparameter search (what tuning buys: the expected
best after n trials, the winner confirmed by a seed study)."""

from .plan import OWNED_FLAGS, StudyPlan
from .search import Search, SearchArguments, plan_search, run_search
from .seeds import SOURCES, SeedRun, plan_study, run_study
from .space import read_space

__all__ = ["OWNED_FLAGS", "SOURCES", "Search", "SearchArguments", "SeedRun", "StudyPlan", "plan_search", "plan_study", "read_space", "run_search", "run_study"]
