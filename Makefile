# nnlab — two commands do all set-up on a fresh machine:
#   make book   build the website with every lab executed   (main job)
#   make test   unit tests + every lab executed by nbval in the smoke profile
# `make help` lists the rest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.nnlab-installed

# Offline copies for development and CI (see ../shared/datasets/README.md); never required.
ifneq ($(wildcard ../shared/datasets/cifar10-jpeg.tar.gz),)
export NNLAB_MIRROR_DIR ?= $(abspath ../shared/datasets)
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0
export PYTHONDONTWRITEBYTECODE := 1

DATASETS ?= mnist fashion_mnist cifar10
PYTEST_ARGS ?=

.PHONY: help setup data book test test-unit lab clean clean-cache

help: ## list the targets
	@echo "nnlab — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-11s %s\n", $$1, $$2}'
	@echo "Settings: NNLAB_PROFILE=smoke|quick|full (default: full on a GPU, quick otherwise),"
	@echo "          KERAS_BACKEND=tensorflow|jax|torch, NNLAB_DATA=<cache folder>."

$(STAMP): requirements.txt pyproject.toml
	@echo "==> setting up $(VENV) (first time: a few minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' \
		> $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything (done by book/test/lab too)

data: $(STAMP) ## fetch and verify the data sets the labs use
	$(BIN)/python -m nnlab data fetch $(DATASETS)

book: setup data ## build the site with every lab executed (profile: NNLAB_PROFILE or auto)
	@profile=$$($(BIN)/python -m nnlab profile); \
	mkdir -p _build; \
	if [ -f _build/.profile ] && [ "$$(cat _build/.profile)" != "$$profile" ]; then \
		echo "==> profile changed to $$profile: clearing the execution cache"; rm -rf _build/.jupyter_cache _build/html _build/jupyter_execute _build/results; fi; \
	echo "$$profile" > _build/.profile; \
	echo "==> building the book in the $$profile profile"; \
	start=$$(date +%s); \
	NNLAB_PROFILE=$$profile NNLAB_QUIET=1 $(BIN)/jupyter-book build . -W -n --keep-going; \
	echo "==> book built in $$(( $$(date +%s) - start )) s, profile $$profile"; \
	echo "==> open $(CURDIR)/_build/html/index.html"

test: setup data ## unit tests + every lab executed by nbval (smoke profile)
	@start=$$(date +%s); \
	NNLAB_PROFILE=smoke NNLAB_QUIET=1 NNLAB_RESULTS=_build/test-results $(BIN)/python -m pytest -q --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 tests labs $(PYTEST_ARGS); \
	echo "==> tests finished in $$(( $$(date +%s) - start )) s"

test-unit: setup ## only the unit tests of lib/nnlab (fast)
	NNLAB_PROFILE=smoke $(BIN)/python -m pytest -q tests $(PYTEST_ARGS)

lab: setup data ## open the labs in JupyterLab (.py labs open as notebooks)
	$(BIN)/jupyter lab labs

clean: ## remove the built site (keeps .venv and the data cache)
	rm -rf _build

clean-cache: ## remove cached training runs (data stay)
	$(BIN)/python -c "import shutil, nnlab.training as t; shutil.rmtree(t.runs_dir(), ignore_errors=True); print('removed', t.runs_dir())"
