# Two entry points for a new user (see README.md): `make demo` and `make test`.
# Each creates the virtual environment and installs the project into it on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint format bench bench-quick clean

$(INSTALLED): pyproject.toml tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,torch]"
	$(BIN)/python -m pip install --quiet --no-deps -e tools  # hubsim, demo, stand-ins (not in the wheel)
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/python -m ckpt_devtools.demo

# SKIP_CHECKPOINT_DOWNLOAD keeps tests/baseline from reaching for the real Hub; the loader's own
# tests unset it and run against local remotes and the local Hub.
test: $(INSTALLED) lint
	SKIP_CHECKPOINT_DOWNLOAD=true $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.run

bench-quick: $(INSTALLED)
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo
