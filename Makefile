# Two commands set everything up on a fresh machine:
#   make demo   create .venv, install trainlab and its dependencies, run the end-to-end demo
#   make test   create .venv, install trainlab with its test extras, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test bench bench-speed venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "trainlab needs Python >= 3.11; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11 and run make again.")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/trainlab demo --out demo-output

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run_all.py

# issue 18's tables: Keras vs trainlab in one run, bf16/channels_last x 3 seeds, scaling to 75k images, GPU
bench-speed: $(STAMP)
	$(PY) bench/run_all.py --only peer,defaults,scaling,gpu

clean:
	rm -rf $(VENV) demo-output .pytest_cache build src/*.egg-info
