# make run   : create .venv if missing, execute every notebook headless (papermill), write figures/
# make test  : create .venv if missing, run unit tests, notebook smoke runs and nbval
# make bench : classic torchvision pipeline vs mnist_hw, side by side
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $(STAMP)

.PHONY: run test bench lab
run: $(STAMP)
	$(PY) -m mnist_hw.run_all $(if $(FRESH),--fresh)

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench.py

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/
