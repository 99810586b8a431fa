# Two commands for a newcomer: `make demo` (the main job) and `make test` (the whole suite).
# Each installs what it needs: a virtualenv in .venv, the package with its test extras, and
# (for tests) Debian's r-base-core + r-cran-laeken to compare with R.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench system clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system:
	bash scripts/install-system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/prosperity monitor --out monitor

test: $(STAMP) system
	$(PY) -m pytest -n 2 -q

bench: $(STAMP) system
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_decompose.py
	$(PY) benchmarks/bench_index.py
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_scale.py --sizes 1e6,1e7

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
