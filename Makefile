# Quick start: `make demo` and `make test` work on a fresh machine (Python 3.10+).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data
OUT ?= demo-out
PYTEST_ARGS ?=

.PHONY: setup demo test test-all lint install-check bench bench-specs bench-verify bench-campaign bench-gdvb bench-relu-split bench-complete bench-mnistfc bench-study bench-table bench-ids bench-conformance bench-bignet clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the local CPU build; anything installed before it would pull CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	# auto_LiRPA 0.3 pins torch<1.13 in its metadata; it works on 2.13 with our shims. Its
	# runtime needs come with the [lirpa] extra. It is installed last, without
	# dependencies: pip checks installed packages' pins only when it resolves, so removing it
	# first (if a previous setup left it) keeps pip from printing a resolver error about it.
	$(BIN)/pip uninstall -qq -y auto-lirpa
	$(BIN)/pip install -q -e ".[dev,lirpa,marabou,dask,milp]"
	$(BIN)/pip install -q --no-deps auto-lirpa==0.3
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

# CROWN throughput, then complete verification with bab beside Marabou (one core each, at the
# competition's timeouts) on (a) ACAS Xu props 1-2, (b) eran (ReLU and sigmoid nets apart),
# (c) verivital (avgpool and maxpool apart), (d) mnistfc (trains its 3 MLPs on first use,
# cached in bench-out/mnistfc). Many hours on 2 cores; narrow it with e.g.
# VERIFY_ARGS="--every 6 --timeout-scale 0.25" or VERIFY_ARGS="--sets acasxu".
VERIFY_ARGS ?=
bench-verify: setup
	$(BIN)/python benchmarks/bench_verify.py --shared $(SHARED) --sets acasxu,eran,verivital,mnistfc --backend bab --backend marabou $(VERIFY_ARGS)

# Only the mnistfc set (90 instances at 120/300 s: up to ~13 h per backend at full timeouts;
# MNISTFC_ARGS="--every 6 --timeout-scale 0.25" is the README's quick run).
MNISTFC_ARGS ?=
bench-mnistfc: setup
	$(BIN)/python benchmarks/bench_bab.py --shared $(SHARED) --sets mnistfc --backend bab --backend marabou $(MNISTFC_ARGS)

bench-relu-split: setup
	$(BIN)/python benchmarks/bench_relu_split.py --shared $(SHARED) --limit 10 --timeout 30 --mnist 10 --eps 0.03

# Complete verification on the shared VNN-COMP 2021 sets at their own timeouts, bab beside
# Marabou (hours on 2 cores; narrow it with e.g. COMPLETE_ARGS="--every 3 --timeout 60").
COMPLETE_ARGS ?=
bench-complete: setup
	$(BIN)/python benchmarks/bench_bab.py --shared $(SHARED) --sets acasxu,eran,verivital --backend bab --backend marabou $(COMPLETE_ARGS)

bench-table: setup
	$(BIN)/autospec specs table --shared $(SHARED) -o bench-out/table --force

# AutoSpec §5.3 on intrusion detection (CIC-IDS2017 multi-class and benign-vs-attack, NSL-KDD
# benign-vs-attack): train, tree specs, export (discrete features kept), bab, counterexamples.
bench-ids: setup
	$(BIN)/python benchmarks/bench_ids.py --shared $(SHARED) -o bench-out/ids --max-specs 15 --timeout 15 --figure docs/img/ids-counterexamples.png

# The VNN-LIB 2.0 conformance suite (vnnlib-satisfactory, the `conformance` extra) through
# autospec-solver in one process, 20 s per test (a few minutes on 2 cores).
bench-conformance: setup
	$(BIN)/python -m pip install -q -e '.[conformance]'
	$(BIN)/python benchmarks/bench_conformance_v2.py --timeout 20 --json bench-out/conformance-v2.json

# A 256 MB network with a property of 200 input boxes (nn4sys-like): verdicts, time and peak
# memory of `autospec verify --backend bab` (about 10 minutes on one core).
bench-bignet: setup
	$(BIN)/python benchmarks/bench_bignet.py --width 8192 --layers 2 --cases 200 --timeout 300

bench-campaign: setup
	$(BIN)/python benchmarks/bench_campaign.py

bench-gdvb: setup
	$(BIN)/python benchmarks/bench_gdvb.py

bench-study: setup
	$(BIN)/autospec study run configs/study-mnist.toml -o bench-out/study-mnist

clean:
	rm -rf $(VENV) $(OUT) bench-out .pytest_cache
