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
# The benchmarks compare the relay probe with nmap's smtp-open-relay.
DEB_BENCH := nmap

# Real mail servers for the `mta` tests (tests/test_real_mta.py, lab/mta.py).
# Debian's MTA packages conflict: Postfix is installed, preseeded "No
# configuration" so no system MTA is set up or started, and Exim and OpenSMTPD
# are only unpacked into var/mta/root. nmap is for the README's comparison.
DEB_MTA := postfix nmap libidn12 libgnutls-dane0 libgnutls30 libdb5.3 libpcre2-8-0 libnsl2 \
	libevent-2.1-7 libssl3 zlib1g libpam0g
MTA_UNPACK := exim4-daemon-light opensmtpd
MTA_DIR := $(CURDIR)/var/mta

.PHONY: demo run-prod test lint bench system-deps system-deps-test system-deps-mta system-deps-bench venv venv-dev messages clean

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

system-deps-bench: system-deps
	$(call apt_ensure,$(DEB_BENCH))

system-deps-mta:
	@if [ "$$(id -u)" = 0 ] && ! dpkg -s postfix >/dev/null 2>&1; then \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; fi
	$(call apt_ensure,$(DEB_MTA))
	@if [ -x $(MTA_DIR)/root/usr/sbin/exim4 ] && [ -x $(MTA_DIR)/root/usr/sbin/smtpd ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Unpacking $(MTA_UNPACK) into $(MTA_DIR)/root"; \
	  rm -rf $(MTA_DIR)/debs && mkdir -p $(MTA_DIR)/debs && cd $(MTA_DIR)/debs && \
	  { apt-get download -qq $(MTA_UNPACK) 2>/dev/null || \
	    { apt-get update -qq && apt-get download -qq $(MTA_UNPACK); }; } && \
	  for deb in *.deb; do dpkg-deb -x $$deb $(MTA_DIR)/root; done; \
	else echo "Not root: the real-MTA tests (-m mta) cannot run here"; fi
	@# Only the lab's private instances may run: never a system MTA.
	@if [ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1; then \
	  echo "Stopping the system Postfix"; /usr/sbin/postfix stop; fi

messages: venv
	@if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then $(MANAGE) compilemessages -v0; fi

# The demo runs a whole campaign against the lab (a simulated internet on
# loopback: SMTP hosts, an RDAP registry and a mail sink), then serves the admin.
# Only the lab's 198.18.0.0/15 addresses are accepted, and lab mode maps each
# one to a loopback endpoint: nothing leaves this machine.
LAB_ENV := LAB_MODE=true PROBE_ALLOWED_NETWORKS=198.18.0.0/15 RDAP_ALLOWED_NETWORKS=198.18.0.0/15 \
	RDAP_BASE_URL=http://127.0.0.1:18043 DEMO_RDAP_PORT=18043 DEMO_LAB_PORT=2525 \
	EMAIL_HOST=127.0.0.1 EMAIL_PORT=18025 PROBE_DEADLINE=6 PROBE_READ_TIMEOUT=3 \
	OUTREACH_PUBLIC_URL=http://127.0.0.1:8000 \
	RDAP_RATE_LIMITS=bootstrap=100/1,arin=100/1,apnic=100/1,ripe=100/1,lacnic=100/1,afrinic=100/1
DEMO_DIR := $(CURDIR)/var/demo
DEMO_ENV := OUTREACH_VAR_DIR=$(DEMO_DIR) LAB_HOST_MAP=$(DEMO_DIR)/lab-map.json $(LAB_ENV)

demo: system-deps venv messages
	rm -rf $(DEMO_DIR) out
	$(DEMO_ENV) $(MANAGE) migrate --noinput -v0
	$(DEMO_ENV) $(MANAGE) demo --out out --serve

# The same campaign, production-style: PostgreSQL and Redis on this machine,
# gunicorn, a Celery worker and beat under honcho (see Procfile).
PROD_DIR := $(CURDIR)/var/prod
PROD_DB ?= postgres://postgres@127.0.0.1:5432/outreach_prod
# The demo investigator has no second factor yet: two-factor stays optional here.
PROD_ENV = DATABASE_URL=$(PROD_DB) REDIS_URL=redis://127.0.0.1:6379/1 \
	SECRET_KEY=$$(cat $(PROD_DIR)/secret_key) ALLOWED_HOSTS=127.0.0.1,localhost \
	SECURE_SSL_REDIRECT=false OUTREACH_VAR_DIR=$(PROD_DIR) LAB_MODE_WITH_DATABASE=true \
	OUTREACH_OTP_REQUIRED=false LAB_HOST_MAP=$(PROD_DIR)/lab-map.json $(LAB_ENV)

run-prod: system-deps venv messages
	mkdir -p $(PROD_DIR)
	test -s $(PROD_DIR)/secret_key || (head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > $(PROD_DIR)/secret_key)
	$(BIN)/python -c "import bench.common as b; b.postgres_database_ensure('$(PROD_DB)')"
	$(PROD_ENV) $(MANAGE) migrate --noinput -v0
	$(PROD_ENV) $(BIN)/honcho start -f Procfile

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: system-deps-test system-deps-mta venv-dev messages lint
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest

# `make bench QUICK=1` runs the long benchmarks small (nmap comparison: 100 and 250 hosts).
bench: system-deps-bench venv-dev messages
	$(BIN)/python -m bench $(if $(QUICK),--quick)

clean:
	rm -rf var out test-artifacts .ruff_cache
