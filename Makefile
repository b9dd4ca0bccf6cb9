# hasm: `make demo` and `make test` each set up what they need on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYTHONHASHSEED := 0
# pytest rewrites the asserts of every module of its plugins - hasm's and Hypothesis's, about 190
# - in each process it starts; cached bytecode makes that once per change instead of about 1.5 s
# of CPU per process, so a machine that turns bytecode off (PYTHONDONTWRITEBYTECODE) does not
# turn it off for these targets.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test quick bench lint typecheck pytest graphviz browser diagrams clean docs

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

# Debian's chromium and its driver run tests/browser (the explorer page in a real browser);
# installed as graphviz is. Without them those tests skip, saying why: this target never fails.
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "could not install chromium: tests/browser will skip; run 'apt-get install chromium chromium-driver' as root" >&2; \
	  else echo "chromium is missing: tests/browser will skip; run 'sudo apt-get install chromium chromium-driver'" >&2; fi; }

demo: $(STAMP) graphviz
	$(VENV)/bin/hasm demo

lint: $(STAMP)
	$(VENV)/bin/ruff check hasm tests bench examples
	$(VENV)/bin/ruff format --check hasm tests bench examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy hasm

# Every kind of test (tests/*/), each Hypothesis test with its full number of examples. A few
# tests take seconds each: a worker that runs out of tests takes some of the other's.
pytest: $(STAMP) graphviz browser
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q -n 2 --dist worksteal

test: lint typecheck pytest

# The quick loop: the unit tests but the long ones, a tenth of the Hypothesis examples. Each worker
# starts on one half of the tests in order and takes some of the other's when it runs out
# (worksteal): most modules then run on one worker, whose module-scoped setup and warmed caches
# are made once, not on both as `load`'s round robin had it. A passed test's tmp_path is deleted
# as the test ends (retention `failed`), while its files are still in memory: left behind, they
# are deleted by a later session as it ends, about 2 s of its wall time on a disk mounted with
# `discard` (~4 ms a file or directory once on disk; the quick loop writes ~500).
quick: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(PY) -m pytest -q -n 2 --dist worksteal -o tmp_path_retention_policy=failed \
	  -m "not slow" tests/unit

# The spec's review document; tests/golden/test_committed.py fails when docs/spec.md is stale.
docs: $(STAMP)
	$(VENV)/bin/hasm doc -o docs/spec.md

# The canonical spec's diagrams, committed in diagrams/ (tests/golden/test_committed.py checks they
# are current): the full machines, the overview and the focused views the README shows.
DIAGRAM_VIEWS = --from normal --trigger critical_service_down --trigger heartbeat_loss --pair P12
diagrams: $(STAMP) graphviz
	$(VENV)/bin/hasm diagram --format svg --format dot --format mermaid --out diagrams \
	  --view all $(DIAGRAM_VIEWS)

BENCH_RECORDS ?= 100000
bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/check_bench.py $(BENCH_RECORDS)
	$(PY) bench/poll_bench.py $(BENCH_RECORDS)
	$(PY) bench/verify_bench.py
	$(PY) bench/oracle_users_bench.py
	$(PY) bench/mutants_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
