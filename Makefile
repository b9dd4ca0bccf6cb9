# hasm: `make demo` and `make test` each set up what they need on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: demo test bench lint typecheck pytest graphviz clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's graphviz renders diagrams; install it when `dot` is missing.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
	      || { echo "could not install graphviz: run 'apt-get install graphviz' as root" >&2; exit 1; }; \
	  else echo "graphviz's 'dot' is missing: run 'sudo apt-get install graphviz'" >&2; exit 1; fi; }

demo: $(STAMP) graphviz
	$(VENV)/bin/hasm demo

lint: $(STAMP)
	$(VENV)/bin/ruff check hasm tests bench
	$(VENV)/bin/ruff format --check hasm tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy hasm

pytest: $(STAMP) graphviz
	$(PY) -m pytest -q -n 2

test: lint typecheck pytest

BENCH_RECORDS ?= 100000
bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/check_bench.py $(BENCH_RECORDS)
	$(PY) bench/oracle_users_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
