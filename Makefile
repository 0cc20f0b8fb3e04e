# Precis: every target sets up what it needs on a machine with nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench install translations messages browser clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

# Compiled with Babel (pure Python), so no GNU gettext is needed on the machine.
translations: $(INSTALLED)
	$(VENV)/bin/pybabel compile -d locale -D django

# Extract new strings for translators (needs GNU gettext's xgettext).
messages: $(INSTALLED)
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete -i '.venv/*' -i 'var/*' -i 'tests/*' -i 'test-results/*'

run: translations
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py run_embedded $(HOST):$(PORT)

browser:
	@sh scripts/ensure-browser

test: translations browser
	$(PY) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint templates --lint

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: translations
	$(PY) -m pytest tests/perf -p no:cacheprovider -q -s

clean:
	rm -rf var/cache var/test-broker-* var/test-precis-*.sqlite3* test-results
