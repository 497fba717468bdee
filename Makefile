# The two commands of the README. Each sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# (re)install whenever pyproject.toml changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e . 2> >(grep -v "^WARNING: Location" >&2)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]" 2> >(grep -v "^WARNING: Location" >&2)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: install, check the metadata, bring the database up to date, load the demo company
## (once), print the demo login, serve http://127.0.0.1:$(PORT)
run: install
	$(BIN)/tessera metadata validate
	$(BIN)/tessera metadata deploy
	PORT=$(PORT) $(BIN)/tessera demo load
	PORT=$(PORT) $(BIN)/tessera serve --port $(PORT)

## make test: install the dev extras and Debian's Chromium (for the Playwright browser tests; the
## `playwright install` download is not used), then run the whole suite
test: install-dev /usr/bin/chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

/usr/bin/chromium:
	$(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

## make bench: the performance harness (figures go to bench/RESULTS.md by hand)
bench: install-dev
	$(BIN)/python bench/registry_build.py
	$(BIN)/python bench/formula_eval.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
