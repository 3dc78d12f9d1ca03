# Outreach: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages the product needs (PDF fonts and shaping, gettext), and the
# extra ones the tests use (PDF text extraction, a DNSBL server, a browser).
DEB_RUNTIME := gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	fonts-noto-core fonts-noto-cjk fonts-dejavu-core
DEB_TEST := poppler-utils rbldnsd chromium openssl

.PHONY: demo test lint bench system-deps system-deps-test venv venv-dev messages clean

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# Installs missing Debian packages when run as root; otherwise names them.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Missing Debian packages (install them as root):$$missing"; fi; \
	fi
endef

system-deps:
	$(call apt_ensure,$(DEB_RUNTIME))

system-deps-test: system-deps
	$(call apt_ensure,$(DEB_TEST))

messages: venv
	@if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then $(MANAGE) compilemessages -v0; fi

demo: system-deps venv messages
	$(MANAGE) migrate --noinput -v0
	$(MANAGE) demo_setup
	$(MANAGE) runserver 127.0.0.1:8000

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: system-deps-test venv-dev messages lint
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest

bench: system-deps venv-dev messages
	$(BIN)/python -m bench

clean:
	rm -rf var out test-artifacts .ruff_cache
