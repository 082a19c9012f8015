# Quick start: `make demo` and `make test` work on a fresh machine (Python 3.10+).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data
OUT ?= demo-out
PYTEST_ARGS ?=

.PHONY: setup demo test test-all lint install-check bench bench-specs bench-verify bench-campaign bench-gdvb bench-relu-split bench-study clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the local CPU build; anything installed before it would pull CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	# auto_LiRPA 0.3 pins torch<1.13 in its metadata; it works on 2.13 with our shims.
	$(BIN)/pip install -q --no-deps auto-lirpa==0.3
	$(BIN)/pip install -q -e ".[dev,lirpa,marabou,dask]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/autospec demo -o $(OUT) --force $(if $(wildcard $(SHARED)/oran-commag),--traces $(SHARED)/oran-commag,)

test: setup
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check autospec_cli tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m mypy
	$(BIN)/deptry .

# Build sdist and wheel, check them, install the wheel into a fresh venv with the README's
# commands only and run every command a new user would (see .ci/install-check).
install-check: setup
	PYTHON=$(BIN)/python .ci/install-check

bench: bench-specs bench-verify bench-campaign bench-gdvb

bench-specs: setup
	$(BIN)/python benchmarks/bench_specs.py

bench-verify: setup
	$(BIN)/python benchmarks/bench_verify.py --shared $(SHARED)

bench-relu-split: setup
	$(BIN)/python benchmarks/bench_relu_split.py --shared $(SHARED) --limit 10 --timeout 30 --mnist 10 --eps 0.03

bench-campaign: setup
	$(BIN)/python benchmarks/bench_campaign.py

bench-gdvb: setup
	$(BIN)/python benchmarks/bench_gdvb.py

bench-study: setup
	$(BIN)/autospec study run configs/study-mnist.toml -o bench-out/study-mnist

clean:
	rm -rf $(VENV) $(OUT) bench-out .pytest_cache
