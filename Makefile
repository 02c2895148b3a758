# make run   : create .venv if missing, regenerate the committed reference results (notebooks executed into runs/;
#              once all finished, notebooks/*.ipynb, results/ and figures/ replaced by renames); FRESH=1 retrains
#              everything instead of resuming finished rows
# make test  : create .venv if missing, run the test suite (unit tests, tiny notebook runs, nbval over the four
#              notebooks prepared with tiny parameters, checked outputs)
# make grade : rerun the four notebooks fresh into a scratch folder and compare with results/ (never writes tracked files)
# make report: build the hand-in from the executed notebooks: runs/report/report.html (+ .pdf where Chromium is installed)
# make bench : classic torchvision pipeline vs mnist_hw, side by side
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $(STAMP)

.PHONY: run test grade report bench lab
run: $(STAMP)
	$(PY) -m mnist_hw.run_all --reference $(if $(FRESH),--fresh)

test: $(STAMP)
	$(PY) -m pytest tests .pytest_cache/nbval

grade: $(STAMP)
	$(PY) -m mnist_hw.grade

report: $(STAMP)
	$(PY) -m mnist_hw.report

bench: $(STAMP)
	$(PY) benchmarks/bench.py

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/
