# PAX: `make run` serves the portal on http://127.0.0.1:5000; `make test` runs the whole suite.
# Everything is installed into this checkout (.venv, node_modules, static/ecl) from pinned versions.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
FLASK := $(BIN)/flask --app app
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
ASSETS_STAMP := static/ecl/.installed
CATALOGS := $(wildcard translations/*/LC_MESSAGES/messages.po)
CATALOG_STAMP := translations/.compiled
PYTEST_ARGS ?=
# Two workers: this machine (and CI) has two cores; each worker gets its own database.
PYTEST_WORKERS ?= 2

.PHONY: run test test-sqlite test-postgresql lint assets install install-dev clean messages catalogs

run: $(RUNTIME_STAMP) $(ASSETS_STAMP) $(CATALOG_STAMP)
	$(FLASK) db upgrade
	@if [ ! -f instance/.demo-loaded ]; then $(FLASK) demo load && touch instance/.demo-loaded; fi
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(DEV_STAMP) $(ASSETS_STAMP) $(CATALOG_STAMP)
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite: $(DEV_STAMP) $(ASSETS_STAMP) $(CATALOG_STAMP)
	PAX_TEST_DB=sqlite $(PY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-postgresql: $(DEV_STAMP) $(ASSETS_STAMP) $(CATALOG_STAMP)
	PAX_TEST_DB=postgresql $(PY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(RUNTIME_STAMP) $(CATALOG_STAMP)
install-dev: $(DEV_STAMP)
assets: $(ASSETS_STAMP)

# Translations (README, Languages): `make messages` extracts every msgid into
# translations/messages.pot and merges it into the 24 catalogs; `make catalogs` compiles them
# (.mo files are built here, at install, and never committed).
messages: $(RUNTIME_STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg --no-location --sort-output --omit-header -k lazy_gettext -k _l -k lazy_ngettext:1,2 -o translations/messages.pot .
	$(BIN)/pybabel --quiet update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

catalogs: $(CATALOG_STAMP)

$(CATALOG_STAMP): $(RUNTIME_STAMP) $(CATALOGS)
	$(BIN)/pybabel --quiet compile -d translations
	touch $@

$(RUNTIME_STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check setuptools==84.2.1 wheel==0.48.0
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

$(ASSETS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf static/ecl
	mkdir -p static/ecl
	cp -R node_modules/@ecl/preset-ec/dist/styles node_modules/@ecl/preset-ec/dist/scripts node_modules/@ecl/preset-ec/dist/images static/ecl/
	# pdf.js (modern build) for in-page PDF previews, served from our own origin under our CSP.
	rm -rf static/pdfjs
	mkdir -p static/pdfjs/build
	cp node_modules/pdfjs-dist/build/pdf.min.mjs node_modules/pdfjs-dist/build/pdf.worker.min.mjs static/pdfjs/build/
	cp -R node_modules/pdfjs-dist/standard_fonts node_modules/pdfjs-dist/cmaps node_modules/pdfjs-dist/LICENSE static/pdfjs/
	touch $@

# Security scans (README, Security scans): bandit, schemathesis, sqlmap and wapiti3 against a
# throwaway portal on 127.0.0.1; the scanners live in their own venvs (their pins conflict).
AUDIT_VENV := .venv-audit
WAPITI_VENV := .venv-wapiti
AUDIT_STAMP := $(AUDIT_VENV)/.installed
WAPITI_STAMP := $(WAPITI_VENV)/.installed

.PHONY: audit audit-deps sbom

audit: $(RUNTIME_STAMP) $(AUDIT_STAMP) $(WAPITI_STAMP)
	$(PY) -m tools.audit.run all

# CycloneDX SBOM (JSON) of the packages installed for SBOM_PYTHON, validated (README, Software bill
# of materials); cyclonedx-py runs from .venv-audit. make audit makes and checks one too.
SBOM_PYTHON ?= $(PY)
SBOM_OUTPUT ?= build/sbom.cdx.json

sbom: $(RUNTIME_STAMP) $(AUDIT_STAMP)
	$(PY) -m tools.sbom $(SBOM_OUTPUT) --python $(SBOM_PYTHON)

# For operators, not CI: pip-audit asks a vulnerability service (PyPI's by default) on the network.
audit-deps: $(AUDIT_STAMP)
	$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		-r constraints.txt -r requirements-audit.txt -r requirements-wapiti.txt

$(AUDIT_STAMP): requirements-audit.txt
	test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-audit.txt
	touch $@

$(WAPITI_STAMP): requirements-wapiti.txt
	test -x $(WAPITI_VENV)/bin/python || $(PYTHON) -m venv $(WAPITI_VENV)
	$(WAPITI_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-wapiti.txt
	touch $@

# Load benchmark (README, Benchmarks): locust in its own venv inside .venv, gunicorn from .venv.
# BENCH_LOAD_ARGS, e.g. "--duration 30 --backend sqlite".
BENCH_VENV := $(VENV)/bench
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_LOAD_ARGS ?=

.PHONY: bench-load

bench-load: $(RUNTIME_STAMP) $(ASSETS_STAMP) $(BENCH_STAMP)
	$(PY) -m bench.load $(BENCH_LOAD_ARGS)

$(BENCH_STAMP): $(RUNTIME_STAMP) bench/requirements-load.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-load.txt
	touch $@

clean:
	rm -rf $(VENV) $(AUDIT_VENV) $(WAPITI_VENV) node_modules static/ecl static/pdfjs test-output
