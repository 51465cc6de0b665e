# Two commands set everything up: `make demo` and `make test`. Each makes .venv itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench services clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch 2.13.0 first: that exact version is the CPU build; a looser pin would pull a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,spark,neural,multilingual]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crmlens demo --out demo_out

services:
	bash scripts/ensure-services.sh

test: $(STAMP) services
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=900

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	mkdir -p bench_out
	for b in benchmarks/*.py; do n=$$(basename $$b .py); case $$n in _*) continue;; esac; \
	  $(BIN)/crmlens bench $$n --json bench_out/$$n.json || exit 1; done

clean:
	rm -rf $(VENV) demo_out bench_out
