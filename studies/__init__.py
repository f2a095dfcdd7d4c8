"""Studies over many runs, each an ordinary run trained by `training.train`: a seed study (the spread of one recipe
over seeds, and where the notebook's result falls in it)."""

from .seeds import SOURCES, SeedRun, plan_study, run_study

__all__ = ["SOURCES", "SeedRun", "plan_study", "run_study"]
