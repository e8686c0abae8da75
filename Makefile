# Two entry points for a new user (see README.md): `make demo` and `make test`.
# Each creates the virtual environment and installs the project into it on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=
# Every distribution `make test` and `make demo` use, pinned with hashes (`make lock` writes it).
LOCK := requirements/dev.lock

.PHONY: demo test test-slow test-all test-compat wheel-low lint format bench bench-quick lock clean

$(INSTALLED): pyproject.toml tools/pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip install --quiet --no-deps -e tools  # hubsim, demo, stand-ins (not in the wheel)
	touch $(INSTALLED)

# Re-resolve the lock after a change of pyproject.toml's dependencies. torch comes as the CPU
# build pip finds beside the index (find-links), as `make test` installs it.
lock:
	test -x .venv-lock/bin/pip-compile || ($(PYTHON) -m venv .venv-lock && \
		.venv-lock/bin/python -m pip install --quiet pip-tools==7.6.2)
	.venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra dev --extra test --extra torch -o $(LOCK) pyproject.toml

# The lowest and the highest release of each supported range of dvc, dvc-s3 and huggingface_hub
# (requirements/compat-*.txt), each in its own environment, run the hf:// and loader tests.
COMPAT_TESTS ?= tests/dvc_hf tests/loader

test-compat: compat-low compat-high

compat-%: .venv-compat-%/.installed
	.venv-compat-$*/bin/python -m pip list 2>/dev/null | grep -iE '^(dvc|dvc-s3|dvc-data|dvc-objects|huggingface.hub|pathspec) '
	SKIP_CHECKPOINT_DOWNLOAD=true .venv-compat-$*/bin/python -m pytest -n 2 -p no:cacheprovider $(COMPAT_TESTS)

# Kept between runs (make would otherwise delete it as an intermediate file).
.PRECIOUS: .venv-compat-%/.installed
.venv-compat-%/.installed: pyproject.toml tools/pyproject.toml requirements/compat-%.txt
	rm -rf .venv-compat-$*
	$(PYTHON) -m venv .venv-compat-$*
	.venv-compat-$*/bin/python -m pip install --quiet --upgrade-strategy eager \
		-c requirements/compat-$*.txt -e ".[test]"
	.venv-compat-$*/bin/python -m pip install --quiet --no-deps -e tools
	touch $@

# The wheel as a user gets it: built by `pip wheel`, then a plain `pip install` (dependency
# resolution on) into a venv that holds only the lowest dvc, dvc-s3 and huggingface_hub, never the
# project. tests/wheel checks that those versions stay and that ckpt and dvc work from the wheel.
# Rebuilt every run: a failed check may leave that venv upgraded.
WHEEL_VENV := .venv-wheel-low
WHEEL_DIR := build/wheel

compat-low: wheel-low

wheel-low: .venv-compat-low/.installed
	rm -rf $(WHEEL_VENV) $(WHEEL_DIR)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet -c requirements/compat-low.txt \
		dvc dvc-s3 huggingface_hub
	$(WHEEL_VENV)/bin/python -m pip wheel --quiet --no-deps -w $(WHEEL_DIR) .
	WHEEL_CHECK_VENV=$(WHEEL_VENV) WHEEL_CHECK_DIR=$(WHEEL_DIR) \
		.venv-compat-low/bin/python -m pytest -p no:cacheprovider tests/wheel
	$(WHEEL_VENV)/bin/python -m pip list 2>/dev/null | \
		grep -iE '^(chemeleon2-ckpt|dvc|dvc-s3|dvc-data|dvc-objects|huggingface.hub|pathspec) '

demo: $(INSTALLED)
	$(BIN)/python -m ckpt_devtools.demo

# SKIP_CHECKPOINT_DOWNLOAD keeps tests/baseline from reaching for the real Hub; the loader's own
# tests unset it and run against local remotes and the local Hub.
# Two tiers (README.md, "Tests"): `make test` runs a case of every feature, `make test-slow` the
# exhaustive rest (tests marked slow), `make test-all` both in one run. CI runs test, then test-slow.
TEST := SKIP_CHECKPOINT_DOWNLOAD=true $(BIN)/python -m pytest -n 2

test: $(INSTALLED) lint
	$(TEST) -m "not slow" $(PYTEST_ARGS)

test-slow: $(INSTALLED)
	$(TEST) -m slow $(PYTEST_ARGS)

test-all: $(INSTALLED) lint
	$(TEST) $(PYTEST_ARGS)

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
	rm -rf $(VENV) .venv-compat-low .venv-compat-high $(WHEEL_VENV) build .venv-lock \
		.pytest_cache .ruff_cache
