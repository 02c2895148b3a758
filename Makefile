# make run   : create or update .venv (make venv), regenerate the committed reference results (notebooks executed
#              into runs/; once all finished, notebooks/*.ipynb, results/ and figures/ replaced by renames); FRESH=1
#              retrains everything instead of resuming finished rows
# make test  : create or update .venv, run the test suite (unit tests, tiny notebook runs, nbval over the four
#              notebooks prepared with tiny parameters, checked outputs)
# make grade : rerun the four notebooks fresh into a scratch folder and compare with results/ (never writes tracked files)
# make report: build the hand-in from the executed notebooks: runs/report/report.html (+ .pdf where Chromium is installed);
#              AUTHOR="Name" puts a name on its title page (else $MNIST_HW_AUTHOR, else the file .mnist_hw_author)
# make bench : mnist_hw against the torchvision DataLoader pipeline and the in-memory textbook loop, side by side
# make venv  : only create or update .venv: from requirements-lock.txt, then this package editable. Checks $(PYTHON)'s
#              version first; rebuilds a .venv made by another Python or left half-installed. TORCH_INDEX=<url>
#              installs torch and torchvision from that index instead (the CPU-only build: docs/install.md)
# make lock  : recompute requirements-lock.txt after a change to pyproject.toml's dependencies, keeping every other
#              pin (LOCK_ARGS=--upgrade: newest of everything), then check that each pin has wheels for every
#              supported platform and Python (needs uv, and PyPI: docs/install.md)
# make test-lowest: the test suite on the oldest versions pyproject.toml allows (uv's lowest-direct resolution) in
#              .venv-lowest, made anew each time; needs uv and PyPI (another torch): not part of `make test` or CI
# make test-colab: Google Colab's published versions (tests/colab/pip-freeze.gpu.txt) in .venv-colab from
#              COLAB_PYTHON (a CPython 3.13), `pip install -e .` into it (fails if it changes any of them), then
#              the test extra, the test suite and `grade` there; needs uv and PyPI: not part of `make test` or CI
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements-lock.txt
TORCH_INDEX ?=
UV ?= uv
LOWEST_VENV ?= .venv-lowest
COLAB_VENV ?= .venv-colab
COLAB_PYTHON ?= python3.13

# The versions torch 2.14.1 / torchvision 0.29.1 ship wheels for, less 3.10 (see pyproject.toml); plain Python 2
# syntax on purpose, so that any Python can say it is the wrong one.
define CHECK_PYTHON
import sys, platform, sysconfig
v = sys.version_info
ok = (platform.python_implementation() == "CPython" and (3, 11) <= v[:2] < (3, 15) and tuple(v[:3]) != (3, 14, 1)
      and not sysconfig.get_config_var("Py_GIL_DISABLED"))
if not ok:
    sys.stderr.write("make: %s is %s %s%s; mnist_hw needs CPython 3.11, 3.12, 3.13 or 3.14 (not 3.14.1, not "
                     "free-threaded). Install one and run e.g. make PYTHON=python3.12\n"
                     % (sys.executable, platform.python_implementation(), platform.python_version(),
                        " free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""))
sys.exit(not ok)
endef
# Which Python made a venv: a venv's interpreter reports the same version and base prefix as the one it came from.
IDENTITY := import sys, platform; print(platform.python_implementation(), platform.python_version(), sys.base_prefix)
# The lines of the lock that only PyPI's CUDA build of torch needs (left out when TORCH_INDEX is given).
CUDA_ONLY := ^(nvidia-|cuda-|triton==)
export CHECK_PYTHON IDENTITY

.PHONY: venv lock run test grade report bench lab test-lowest test-colab
# The stamp holds what .venv was installed from, written only once everything installed: the Python, the torch
# index and the checksums of the lock and pyproject.toml. Same stamp: nothing to do. Another Python, another torch
# index, or no stamp (a .venv left half-installed): .venv is made anew. Only the files changed: installed in place.
venv:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: no '$(PYTHON)' found; mnist_hw needs CPython 3.11-3.14: install one and run e.g. make PYTHON=python3.12" >&2; exit 1; }
	@$(PYTHON) -c "$$CHECK_PYTHON"
	@set -e; \
	python="$$($(PYTHON) -c "$$IDENTITY")"; \
	found="$$($(PY) -c "$$IDENTITY" 2>/dev/null || true)"; \
	want="$$(printf 'python %s\ntorch-index %s\n' "$$python" "$(TORCH_INDEX)"; cksum $(LOCK) pyproject.toml)"; \
	if [ "$$found" = "$$python" ] && [ -f $(STAMP) ] && [ "$$(cat $(STAMP))" = "$$want" ]; then exit 0; fi; \
	if [ ! -e $(VENV) ]; then reason=new; \
	elif [ ! -f $(STAMP) ]; then reason="it was left half-installed (no $(STAMP))"; \
	elif [ "$$found" != "$$python" ]; then reason="it was made by $${found:-a Python that no longer runs}, not by $(PYTHON) ($$python)"; \
	elif ! grep -q '^torch-index ' $(STAMP); then reason=; echo "make: installing $(LOCK) into $(VENV) (made by an older Makefile)"; \
	elif [ "$$(sed -n 2p $(STAMP))" != "torch-index $(TORCH_INDEX)" ]; then \
	  old="$$(sed -n 's/^torch-index //p' $(STAMP))"; reason="its torch came from $${old:-PyPI}, TORCH_INDEX now says $(or $(TORCH_INDEX),PyPI)"; \
	else reason=; fi; \
	if [ -n "$$reason" ]; then \
	  [ "$$reason" = new ] || echo "make: making $(VENV) anew: $$reason"; \
	  rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	fi; \
	rm -f $(STAMP); \
	lock=$(LOCK); \
	if [ -n "$(TORCH_INDEX)" ]; then \
	  $(PY) -m pip install -q --no-deps --index-url "$(TORCH_INDEX)" $$(grep -E '^torch(vision)?==' $(LOCK) | cut -d' ' -f1); \
	  lock=$(VENV)/requirements-lock-no-cuda.txt; grep -v -E '$(CUDA_ONLY)' $(LOCK) > $$lock; \
	fi; \
	$(PY) -m pip install -q -r $$lock; \
	$(PY) -m pip install -q --no-deps -e .; \
	printf '%s\n' "$$want" > $(STAMP)

# Every pin must have a wheel for each supported Python on each platform that docs/install.md states.
LOCK_PLATFORMS := x86_64-manylinux_2_28 aarch64-manylinux_2_28 aarch64-apple-darwin x86_64-pc-windows-msvc
lock:
	$(UV) pip compile pyproject.toml --extra test --universal --python-version 3.11 $(LOCK_ARGS) -q -o $(LOCK)
	@for platform in $(LOCK_PLATFORMS); do for version in 3.11 3.12 3.13 3.14; do \
	  MACOSX_DEPLOYMENT_TARGET=14.0 $(UV) pip compile $(LOCK) --python-platform $$platform --python-version $$version \
	    --only-binary :all: --no-header -q -o /dev/null \
	  || { echo "make: $(LOCK) cannot be installed from wheels on $$platform, Python $$version (above)" >&2; exit 1; }; \
	done; done; echo "make: every pin of $(LOCK) has wheels for Python 3.11-3.14 on $(LOCK_PLATFORMS)"

run: venv
	$(PY) -m mnist_hw run --reference $(if $(FRESH),--fresh)

# The suite starts some forty Pythons (workers, kernels, runs) that import the package and the tests: they share
# its compiled bytecode in __pycache__/ (git-ignored) even where the environment says PYTHONDONTWRITEBYTECODE.
test: venv
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest tests .pytest_cache/nbval

grade: venv
	$(PY) -m mnist_hw grade

report: venv
	$(PY) -m mnist_hw report $(if $(AUTHOR),--author "$(AUTHOR)")

bench: venv
	$(PY) -m mnist_hw bench

lab: venv
	$(PY) -m mnist_hw lab

# The lowest versions of the direct dependencies (runtime and test extra) that pyproject.toml allows, for $(PYTHON).
test-lowest:
	@$(PYTHON) -c "$$CHECK_PYTHON"
	rm -rf $(LOWEST_VENV)
	$(UV) venv --seed -q --python $(PYTHON) $(LOWEST_VENV)
	$(UV) pip compile pyproject.toml --extra test --resolution lowest-direct --python $(LOWEST_VENV)/bin/python \
	  -q -o $(LOWEST_VENV)/requirements-lowest.txt
	$(UV) pip install -q --python $(LOWEST_VENV)/bin/python -r $(LOWEST_VENV)/requirements-lowest.txt
	$(UV) pip install -q --python $(LOWEST_VENV)/bin/python --no-deps -e .
	$(LOWEST_VENV)/bin/python -m pytest tests .pytest_cache/nbval

test-colab:
	$(PYTHON) tests/colab/runtime.py $(COLAB_VENV) $(COLAB_PYTHON) $(UV)
	$(COLAB_VENV)/bin/python -m pytest tests .pytest_cache/nbval
	$(COLAB_VENV)/bin/python -m mnist_hw grade
