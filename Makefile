# Quick start: `make demo`, then `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean release

install: $(STAMP)

# An editable install compiles nothing: compileall spares each run where bytecode is not written
# (PYTHONDONTWRITEBYTECODE, a read-only checkout) compiling the kit's modules first.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e .
	$(BIN)/python -m compileall -q base course grader source toolbox_solution
	touch $(STAMP)

demo: install
	$(BIN)/course demo

release: install
	$(BIN)/course release backprop

# two processes: the slow end-to-end tests (nbgrader, notebooks, sandboxed classes) run side by side
test: install lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m pip install -qq -e '.[bench]'
	$(BIN)/python benchmarks/sgd_step_vs_torch.py
	$(BIN)/python benchmarks/release_time.py
	$(BIN)/python benchmarks/grade_class.py
	$(BIN)/python benchmarks/grade_vs_nbgrader.py
	$(BIN)/python benchmarks/similarity_class.py

clean:
	rm -rf $(VENV) build *.egg-info
