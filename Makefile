# nnlab — two commands do all set-up on a fresh machine:
#   make book   build the website with every lab executed   (main job)
#   make test   unit tests + every lab executed by nbval in the smoke profile
#   make test-site  the website (smoke profile) built aside and every page checked in headless Chromium
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
export PYTHONDONTWRITEBYTECODE := 1

DATASETS ?= mnist fashion_mnist cifar10
PYTEST_ARGS ?=
# make test spreads its files over TEST_WORKERS pytest-xdist processes; each file (a lab's cells
# in order, a test module) stays on one. Two suit a 2-core machine: much of a smoke-profile test
# is Python, compilation and kernel start-up, which one process leaves a core idle for.
# TEST_WORKERS=0 runs everything in one process, in file order.
TEST_WORKERS ?= 2

# The website serves its own MathJax (from the npm registry, into _build/vendor; see
# book/_ext/nnlab_book.py), so no page needs a CDN to draw its math.
MATHJAX_VERSION := 3.2.2
MATHJAX := _build/vendor/mathjax/tex-mml-chtml.js
# `make test-site` builds the smoke-profile site here, never touching _build/html.
SITE     := _build/site-smoke
CHROMIUM ?= /usr/bin/chromium

.PHONY: help setup data book test test-unit test-jax test-site browser mathjax bench device-kit device-rehearsal lab clean clean-cache

help: ## list the targets
	@echo "nnlab — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-17s %s\n", $$1, $$2}'
	@echo "Settings: NNLAB_PROFILE=smoke|quick|full (default: full on a GPU, quick otherwise),"
	@echo "          KERAS_BACKEND=tensorflow|jax|torch, NNLAB_DATA=<cache folder> (book/setup.md lists the rest)."
	@echo "Make variables: PYTHON=python3.11 (the Python for .venv), DATASETS=\"mnist fashion_mnist\" (what to fetch),"
	@echo "          PYTEST_ARGS=\"-x --durations=20\" (passed to pytest by the test targets),"
	@echo "          TEST_WORKERS=2 (make test's pytest processes; 0: one process, files in order)."

$(STAMP): requirements.txt pyproject.toml
	@echo "==> setting up $(VENV) (first time: a few minutes)"
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
		echo "nnlab needs Python 3.10 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Run make with PYTHON=python3.11 (or another)." >&2; exit 1; }
	@# a venv whose pip does not run (half-created, e.g. before python3-venv was installed) is made again
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' \
		> $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

# Every kernel the venv's Python starts reads this (see the file for why).
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py
$(KERNEL_CONFIG): etc/ipython/ipython_kernel_config.py $(STAMP)
	@mkdir -p $(@D)
	@cp $< $@

setup: $(STAMP) $(KERNEL_CONFIG) ## create .venv and install everything (done by book/test/lab too)

data: $(STAMP) ## fetch and verify the data sets the labs use
	$(BIN)/python -m nnlab data fetch $(DATASETS)

# NNLAB_PROFILE reaches the labs' kernels only if the reader set it: otherwise every kernel detects
# the same profile itself, and each page says "set by auto-detection", not by a variable never set.
book: setup data ## build the site with every lab executed (profile: NNLAB_PROFILE or auto)
	@$(MAKE) -s --no-print-directory $(MATHJAX) || echo "==> no local MathJax (is npm installed?): pages will load it from its CDN"
	@profile=$$($(BIN)/python -m nnlab profile); \
	$(BIN)/python -m nnlab backend >/dev/null; \
	setting=$$($(BIN)/python -m nnlab info | tr '\n' ' '); \
	code=$$(cat lib/nnlab/*.py requirements.txt etc/ipython/*.py | sha256sum | cut -c1-16); \
	built_with="$$setting code=$$code"; \
	mkdir -p _build; \
	if [ -d _build/.jupyter_cache ] && { [ "$$(cat _build/.profile 2>/dev/null)" != "$$built_with" ] \
			|| [ -z "$$(ls -A _build/results 2>/dev/null)" ]; }; then \
		echo "==> profile, backend, device, lib/nnlab or requirements changed since the last build, or its results are gone ($$built_with): clearing the execution cache"; \
		rm -rf _build/.jupyter_cache _build/.doctrees _build/html _build/jupyter_execute _build/results; fi; \
	echo "$$built_with" > _build/.profile; \
	echo "==> building the book in the $$profile profile"; \
	start=$$(date +%s); \
	NNLAB_STATIC=1 NNLAB_QUIET=1 NNLAB_RESULTS="$(CURDIR)/_build/results" $(BIN)/jupyter-book build . --all -W -n --keep-going; \
	echo "==> book built in $$(( $$(date +%s) - start )) s, profile $$profile"; \
	echo "==> open $(CURDIR)/_build/html/index.html"

test: setup data ## unit tests + every lab executed by nbval (smoke profile)
	@start=$$(date +%s); \
	NNLAB_PROFILE=smoke NNLAB_QUIET=1 NNLAB_RESULTS="$(CURDIR)/_build/test-results" $(BIN)/python -m pytest -q --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 -n $(TEST_WORKERS) --dist loadfile --ignore=tests/site tests labs $(PYTEST_ARGS); \
	echo "==> tests finished in $$(( $$(date +%s) - start )) s"

test-site: setup data browser $(MATHJAX) ## build the site (smoke) into _build/site-smoke; check every page in Chromium
	@start=$$(date +%s); \
	echo "==> building the site in the smoke profile into $(SITE) (the real book in _build/html is untouched)"; \
	rm -rf "$(SITE)"; \
	NNLAB_PROFILE=smoke NNLAB_STATIC=1 NNLAB_QUIET=1 NNLAB_RESULTS="$(CURDIR)/$(SITE)/results" \
		$(BIN)/jupyter-book build . --path-output $(SITE) -W -n --keep-going; \
	built=$$(date +%s); \
	echo "==> site built in $$(( built - start )) s; loading every page in headless Chromium"; \
	NNLAB_SITE_DIR=$(SITE)/_build/html NNLAB_SCREENSHOT_DIR=$(SITE)/screenshots CHROMIUM=$(CHROMIUM) \
		$(BIN)/python -m pytest -q tests/site $(PYTEST_ARGS); \
	echo "==> site checked in $$(( $$(date +%s) - built )) s (build + check: $$(( $$(date +%s) - start )) s); screenshots in $(SITE)/screenshots"

browser: ## make sure headless Chromium is there for test-site (Debian's chromium package)
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "==> installing Debian's chromium package (for make test-site)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "make test-site needs Chromium at $(CHROMIUM): install Debian's chromium package" \
		     "(sudo apt-get install chromium) or point CHROMIUM=/path/to/chromium at another build." >&2; \
		exit 1; \
	fi

mathjax: $(MATHJAX) ## fetch MathJax from the npm registry into _build/vendor (the site serves it)

$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed to fetch MathJax $(MATHJAX_VERSION) (install Node.js and npm)" >&2; exit 1; }
	@echo "==> fetching MathJax $(MATHJAX_VERSION) from the npm registry into _build/vendor/mathjax"
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	( cd "$$tmp" && timeout 300 npm pack --silent mathjax@$(MATHJAX_VERSION) >npm.log 2>&1 && tar xzf mathjax-$(MATHJAX_VERSION).tgz ) \
		|| { cat "$$tmp/npm.log" >&2; exit 1; }; \
	es5="$$tmp/package/es5"; dest=_build/vendor/mathjax; \
	rm -rf "$$dest" && mkdir -p "$$dest/output"; \
	cp -r "$$es5/input" "$$es5/a11y" "$$es5/ui" "$$es5/adaptors" "$$es5/sre" "$$dest/"; \
	cp -r "$$es5/output/chtml" "$$dest/output/"; \
	cp "$$tmp/package/LICENSE" "$$dest/"; \
	cp "$$es5/tex-mml-chtml.js" "$$dest/"   # last: this file marks the copy as complete

test-unit: setup ## only the unit tests of lib/nnlab (fast)
	NNLAB_PROFILE=smoke $(BIN)/python -m pytest -q --ignore=tests/site tests $(PYTEST_ARGS)

# JAX is installed together with requirements.txt, so that pip's resolver keeps what TensorFlow
# needs (numpy, ml_dtypes) while it picks a JAX. Keras 3.15.1 was tried with JAX 0.10.2 (all of
# make test-jax; what Python 3.11 gets), and with 0.6.2 (what Python 3.10 gets) and 0.4.30 on the
# unit tests, lab 1 and a small CNN fit; no upper cap is known to be needed.
JAX_REQUIREMENT := jax>=0.4.30

test-jax: setup data ## the smoke tests with KERAS_BACKEND=jax (installs JAX into .venv if missing)
	$(BIN)/python -c "import jax" 2>/dev/null || $(BIN)/python -m pip install -q -r requirements.txt "$(JAX_REQUIREMENT)"
	KERAS_BACKEND=jax $(MAKE) --no-print-directory test

bench: setup data ## run every lab in NNLAB_PROFILE (default auto); write benchmarks/bench-*.{json,md}
	$(BIN)/python -m nnlab bench $(if $(NNLAB_PROFILE),--profile $(NNLAB_PROFILE),) $(LABS)

device-kit: setup data ## prepare .device/ (wheels + data) for a GPU run with JAX; see benchmarks/README.md
	PYTHON=$(BIN)/python benchmarks/device_kit.sh

device-rehearsal: ## rehearse the GPU call here (smoke, JAX, stand-in nvidia-smi); PYTHON312=<a Python 3.12 with JAX>, PROFILE=rehearsal for the full profile's structure
	@[ -n "$(PYTHON312)" ] || { echo "make device-rehearsal needs PYTHON312=<a CPython 3.12 with JAX>: see benchmarks/device_rehearsal.sh" >&2; exit 1; }
	@$(MAKE) --no-print-directory device-kit
	PYTHON=$(PYTHON312) PROFILE=$(PROFILE) benchmarks/device_rehearsal.sh

lab: setup data ## open the labs in JupyterLab (.py labs open as notebooks)
	$(BIN)/jupyter lab labs

clean: ## remove the built site (keeps .venv and the data cache)
	rm -rf _build

clean-cache: ## remove cached training runs and lab 3's search trials (data stay)
	$(BIN)/python -m nnlab clean-cache
