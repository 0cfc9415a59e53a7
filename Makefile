# ml-connector — the two commands: `make demo` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install test lint demo dist clean chromium

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy --strict src/mlconnector/x12 src/mlconnector/flows src/mlconnector/tunnel

# The console's browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: lint chromium
	$(VENV)/bin/pytest

demo: install
	$(VENV)/bin/ml-connector demo

dist: $(UV)
	rm -rf dist
	$(UV) build --out-dir dist   # dist/ml_connector-<version>-py3-none-any.whl and the .tar.gz sdist (hatchling)

clean:
	rm -rf $(VENV) $(TOOLS) dist .pytest_cache .ruff_cache .mypy_cache
