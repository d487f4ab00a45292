# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench services-status services-stop browser

# DEBUG is off unless asked for; `make run` is local development.
run: $(INSTALLED)
	DEBUG=$${DEBUG:-true} $(PY) manage.py console

test: $(INSTALLED) browser
	$(PY) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(INSTALLED)
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

services-status: $(INSTALLED)
	$(PY) -m hilconsole.embedded status

services-stop: $(INSTALLED)
	$(PY) -m hilconsole.embedded stop

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when requirements.txt changes.
$(INSTALLED): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright cannot download its own here).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi
