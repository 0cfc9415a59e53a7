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

# Bytecode is written at install time, as a user's pip/uv install does: this environment sets
# PYTHONDONTWRITEBYTECODE=1, so without it every command would compile every module from source at each start.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

# The project itself is installed editable (src/ is not in site-packages), so compile it here, every time (~0.3 s).
# checked-hash: Python compares each .pyc with its source's hash, so an edited file is never shadowed by an old .pyc.
install: $(VENV)/.installed
	$(VENV)/bin/python -m compileall -q --invalidation-mode checked-hash src

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
