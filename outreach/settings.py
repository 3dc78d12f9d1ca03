"""Outreach settings: one file, driven by environment variables.

With no environment at all you get the embedded default: SQLite in ./var/,
Celery tasks run in-process (eager, errors propagate) and mail written to
./var/mail/. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and friends;
the README has the table. A value that cannot be understood stops start-up
with an ImproperlyConfigured naming the variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from outreach.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    redis_url_checked,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OUTREACH_VAR_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
# "Embedded" is the first-run mode: no services, everything local.
EMBEDDED = not DATABASE_URL

DEBUG = env_bool("DEBUG", default=EMBEDDED)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if len(key) < 50 and not EMBEDDED:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production.")
        return key
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY is required when DATABASE_URL is set.")
    # Embedded mode keeps a generated key beside its database, never in git.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if EMBEDDED else "")
if not ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "outreach",
    "probes",
    "letters",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "outreach.urls"
WSGI_APPLICATION = "outreach.wsgi.application"
ASGI_APPLICATION = "outreach.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "outreach.sqlite3",
            # WAL lets the admin read while an in-process import writes.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 30},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Languages ------------------------------------------------------------
# The admin speaks one language per user (their profile's choice), else the
# site language, and never follows the browser: only languages whose admin
# catalog (outreach/locale) is complete are offered, so no page mixes two.
# Letters and recipient pages use every letter language in LANGUAGES below.
ADMIN_LANGUAGES = [("en", "English"), ("es", "Español"), ("ja", "日本語")]
LANGUAGE_CODE = env_str("SITE_LANGUAGE", "en")
if LANGUAGE_CODE not in dict(ADMIN_LANGUAGES):
    raise ImproperlyConfigured(
        f"SITE_LANGUAGE={LANGUAGE_CODE!r}: choose one of {', '.join(dict(ADMIN_LANGUAGES))}"
    )
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# The letter languages. The 2004 campaign offered its letter in 21.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("pt", "Português"),
    ("de", "Deutsch"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("ru", "Русский"),
    ("uk", "Українська"),
    ("tr", "Türkçe"),
    ("ar", "العربية"),
    ("he", "עברית"),
    ("ja", "日本語"),
    ("zh-hans", "简体中文"),
    ("ko", "한국어"),
    ("vi", "Tiếng Việt"),
    ("id", "Bahasa Indonesia"),
    ("th", "ไทย"),
    ("sv", "Svenska"),
    ("el", "Ελληνικά"),
    ("ro", "Română"),
    ("cs", "Čeština"),
]

# --- Static and media -----------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery ---------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = redis_url_checked(REDIS_URL)
    CELERY_RESULT_BACKEND = CELERY_BROKER_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # Embedded default: tasks run in-process and their errors propagate.
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
# Our tasks are idempotent batches, so acknowledge after the work is done and
# let a task whose worker died be delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers a task not acknowledged within this many seconds. Batches
# are kept well under it (a probe batch is bounded by its per-host deadline);
# never schedule an ETA further away than this.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 1800, minimum=60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 900, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic work (feeds, re-verification, mailbox polling) is added per stage.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# PDF rendering has its own queues, so its workers scale apart from senders:
# "render" for most letters, "render-cjk" (chosen per letter by
# letters.rendered.render_queue) for workers that load the CJK fonts.
CELERY_TASK_ROUTES = {"letters.render": {"queue": "render"}}

# --- Mail out -------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    # Embedded default: every message is written to a file, nothing leaves.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "outreach@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Test mode sends every letter to this one address instead of its recipient.
OUTREACH_TEST_RECIPIENT = env_str("OUTREACH_TEST_RECIPIENT")

# --- Safety: what may be touched -----------------------------------------
# Non-global networks the probe may still touch (the lab's loopback). Empty in
# production: the probe then refuses every special-purpose address.
PROBE_ALLOWED_NETWORKS = env_list("PROBE_ALLOWED_NETWORKS")
# Networks whose owners asked never to be contacted or probed.
NEVER_CONTACT_NETWORKS = env_list("NEVER_CONTACT_NETWORKS")
# Lab mode maps target addresses to the lab's loopback hosts. Never in production.
LAB_MODE = env_bool("LAB_MODE", False)
if LAB_MODE and not EMBEDDED and not env_bool("LAB_MODE_WITH_DATABASE", False):
    raise ImproperlyConfigured("LAB_MODE is for the embedded demo; unset it in production.")

# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Production hardening -------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Security: partner logins, 2FA, lockout, audit, CSP (issue 8) --------
# The admin site is ours (outreach.admin_site): it adds the optional TOTP step
# and refuses investigators without a verified second factor when required.
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "outreach.apps.OutreachAdminConfig"
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "outreach.apps.OutreachAuditlogConfig",
    "csp",
]
_AUTH_AT = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
MIDDLEWARE[_AUTH_AT:_AUTH_AT] = [
    "django_otp.middleware.OTPMiddleware",
    # auditlog's, recording the client address the way axes reads it.
    "outreach.security.AuditlogMiddleware",
    # After authentication: it reads the user's profile.
    "outreach.admin_language.AdminLanguageMiddleware",
]
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
# Axes wants to be last so it sees every failed login and answers lockouts.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Permissions follow the user's agency roles (outreach.roles).
    "outreach.roles.RolePermissionBackend",
]

# Two factors: required for investigators (and superusers) outside DEBUG,
# optional for partner agencies' users.
OUTREACH_OTP_REQUIRED = env_bool("OUTREACH_OTP_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Outreach")
# Nobody, not even an investigator, reads another user's TOTP secret in the admin.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Lockout: username and client IP are separate rules, so neither rotating IPs
# against one account nor one IP against many accounts gets around it.
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30, minimum=1) / 60  # hours
AXES_RESET_ON_SUCCESS = True
# Its start-up banner would print on every management command.
AXES_VERBOSE = False
# The recipient page explains a CSRF failure in the reader's language (others get Django's page).
CSRF_FAILURE_VIEW = "letters.views.csrf_failure"
AXES_ENABLE_ADMIN = False  # outreach.admin registers scoped, investigator-only admins
AXES_CLIENT_IP_CALLABLE = "outreach.security.client_ip"
# How many reverse proxies sit in front of Django (X-Forwarded-For is trusted
# that many hops deep, never more).
OUTREACH_PROXY_COUNT = env_int("OUTREACH_PROXY_COUNT", 0)

# Sessions: SESSION_COOKIE_AGE (above) becomes an idle timeout.
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"

# Audit: these models log every change; bulk paths call outreach.audit.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    "outreach.Agency",
    "outreach.Membership",
    "outreach.UserProfile",
    {"model": "outreach.Campaign", "m2m_fields": {"partners"}, "exclude_fields": ["hosts"]},
    "outreach.Contact",
    {"model": "outreach.Network", "include_fields": ["agency", "abuse_emails"]},
    {"model": "outreach.Host", "include_fields": ["status", "agency", "contact"]},
    "probes.Feed",
    "letters.Letter",
    # The raw bytes of unparsable mail are binary junk by definition: kept on
    # the row, never copied into the audit log.
    {"model": "letters.Response", "exclude_fields": ["raw"]},
    {"model": "auth.User", "exclude_fields": ["password", "last_login"]},
)

# Content Security Policy: nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Letters (rendering, PDF, export) -------------------------------------
# Seconds one letter's PDF may take before the render is stopped (0: no limit).
LETTERS_PDF_TIMEOUT = env_int("LETTERS_PDF_TIMEOUT", 30, minimum=0)
# Where export_letters writes ZIPs when the admin action runs it.
LETTERS_EXPORT_DIR = Path(env_str("LETTERS_EXPORT_DIR", str(VAR_DIR / "exports")))
# Rendered letters and the archive of sent messages, content-addressed by
# SHA-256 (letters/blobs.py). Shared by every web, render and send process.
LETTERS_BLOB_DIR = Path(env_str("LETTERS_BLOB_DIR", str(VAR_DIR / "blobs")))
# WeasyPrint logs every rendering step at INFO; keep its warnings only.
LOGGING.setdefault("loggers", {})["weasyprint"] = {"level": "WARNING"}

# --- Outbox and inbound mail (letters/outbox.py, letters/inbound.py) -------
# Letters claimed per batch. A worker that dies leaves at most two batches (one
# on the wire, one being built) "delivery unknown": keep it a few times the
# connection count.
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 64, minimum=1)
# Parallel connections to EMAIL_HOST when an agency has no smarthost of its own.
OUTBOX_CONNECTIONS = env_int("OUTBOX_CONNECTIONS", 16, minimum=1)
# Messages per minute to any one recipient domain (0: no limit). The buckets
# are in Redis when REDIS_URL is set, so the limit holds across all workers.
OUTBOX_DOMAIN_RATE_PER_MINUTE = env_int("OUTBOX_DOMAIN_RATE_PER_MINUTE", 60)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6, minimum=1)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 300, minimum=1)
# A claim older than this belongs to a dead worker (see outbox_recover).
OUTBOX_CLAIM_TIMEOUT = env_int("OUTBOX_CLAIM_TIMEOUT", 900, minimum=60)
# Letters one Celery task sends before handing on to a fresh task.
OUTBOX_TASK_LETTERS = env_int("OUTBOX_TASK_LETTERS", 2000, minimum=1)
OUTBOX_ATTACH_PDF = env_bool("OUTBOX_ATTACH_PDF", True)
# What we say in EHLO; aiosmtplib would otherwise ask DNS for our own name.
OUTBOX_LOCAL_HOSTNAME = env_str("OUTBOX_LOCAL_HOSTNAME", "outreach.localdomain")
OUTBOX_VALIDATE_CERTS = env_bool("OUTBOX_VALIDATE_CERTS", True)
# Mailman's rule: a hard bounce counts 1, a soft one 0.5, once a day at most.
BOUNCE_DISABLE_SCORE = env_int("BOUNCE_DISABLE_SCORE", 5, minimum=1)
# Inbound messages larger than this are refused unread.
INBOUND_MAX_BYTES = env_int("INBOUND_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Messages fetched from one IMAP mailbox per poll, and how often to poll.
# An IMAP folder where messages that cannot be stored at all are copied (they
# are marked seen either way, so the poll never stalls on them). Empty: none.
INBOUND_POISON_FOLDER = env_str("INBOUND_POISON_FOLDER", "")
INBOUND_POLL_BATCH = env_int("INBOUND_POLL_BATCH", 500, minimum=1)
INBOUND_POLL_SECONDS = env_int("INBOUND_POLL_SECONDS", 300, minimum=30)
CELERY_BEAT_SCHEDULE["mailboxes-poll"] = {
    "task": "letters.tasks.mailboxes_poll_task",
    "schedule": float(INBOUND_POLL_SECONDS),
}
# Letters whose hosts one remediation task re-probes.
REMEDIATION_BATCH = env_int("REMEDIATION_BATCH", 200, minimum=1)
# An open relay whose re-test proved nothing (refused us, timed out, ...) is
# tried again after this many days.
REMEDIATION_RETRY_DAYS = env_int("REMEDIATION_RETRY_DAYS", 7, minimum=1)
# Probes older than this many days are purged (with an audit entry), except
# each host's latest probe and latest proof of relaying. 0 keeps every probe.
PROBE_RETENTION_DAYS = env_int("PROBE_RETENTION_DAYS", 0, minimum=0)
CELERY_BEAT_SCHEDULE["probes-purge"] = {
    "task": "probes.probes_purge",
    "schedule": 24 * 3600.0,
}
CELERY_BEAT_SCHEDULE["campaigns-remediate"] = {
    "task": "letters.tasks.campaigns_remediate_task",
    "schedule": 24 * 3600.0,
}
# The later re-test the recipient page promises when the day's are used up.
CELERY_BEAT_SCHEDULE["recipient-deferred-retests"] = {
    "task": "letters.tasks.deferred_retests_task",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["outbox-recover"] = {
    "task": "letters.tasks.outbox_recover_task",
    "schedule": 300.0,
}

# --- Feed import ----------------------------------------------------------
# A feed bigger than this (after gunzip) is refused with a clear error. It
# also bounds memory: deduplication keeps about 100 bytes per unique address.
FEED_MAX_BYTES = env_int("FEED_MAX_BYTES", 256 * 1024**2, minimum=1024)
# URL fetches: connect/read timeout in seconds.
FEED_FETCH_TIMEOUT = env_int("FEED_FETCH_TIMEOUT", 30, minimum=1)
# A listed network is expanded into hosts (feeds marked "host list" only)
# when it holds at most this many addresses: 256 is a /24.
FEED_EXPAND_MAX_ADDRESSES = env_int("FEED_EXPAND_MAX_ADDRESSES", 256, minimum=1)
# At most this many hosts come from expanding networks in one import.
FEED_EXPAND_MAX_TOTAL = env_int("FEED_EXPAND_MAX_TOTAL", 1_000_000, minimum=0)
# Networks shorter than these prefixes are refused as too large to be evidence.
FEED_NETWORK_MIN_PREFIX_V4 = env_int("FEED_NETWORK_MIN_PREFIX_V4", 8, minimum=0)
FEED_NETWORK_MIN_PREFIX_V6 = env_int("FEED_NETWORK_MIN_PREFIX_V6", 16, minimum=0)
# Celery beat re-imports every feed that has a URL this often; 0 turns it off.
FEED_REFRESH_MINUTES = env_int("FEED_REFRESH_MINUTES", 360, minimum=0)
if FEED_REFRESH_MINUTES:
    CELERY_BEAT_SCHEDULE["feeds-refresh"] = {
        "task": "probes.feeds_refresh",
        "schedule": FEED_REFRESH_MINUTES * 60.0,
    }

# --- Relay probes ---------------------------------------------------------
# Who the probe says it is: owners who see it in their logs must find the
# agency. Production sets a real name with a matching PTR record.
PROBE_HELO_NAME = env_str("PROBE_HELO_NAME", "relay-probe.outreach.example")
PROBE_MAIL_FROM = env_str("PROBE_MAIL_FROM", "relay-probe@outreach.example")
# A foreign domain the agency controls: the relay tests' recipients live there.
PROBE_RCPT_DOMAIN = env_str("PROBE_RCPT_DOMAIN", "relaytest.outreach.example")
PROBE_DEADLINE = env_int("PROBE_DEADLINE", 30, minimum=1)
PROBE_READ_TIMEOUT = env_int("PROBE_READ_TIMEOUT", 10, minimum=1)
PROBE_TRANSCRIPT_LIMIT = env_int("PROBE_TRANSCRIPT_LIMIT", 32_000, minimum=1000)
# Probes at once in one worker process (one event loop). A probe in flight
# costs about 0.1 MB (1,000 measured 120 MB of peak memory for the whole
# worker), and most of its life is spent waiting on the network, so one
# process holds about 1,000; the politeness caps below still apply.
PROBE_CONCURRENCY = env_int("PROBE_CONCURRENCY", 1000, minimum=1)
# RFC 2920: send each relay test's RSET, MAIL and RCPT as one group when the
# server advertises PIPELINING (one round trip instead of three).
PROBE_PIPELINING = env_bool("PROBE_PIPELINING", True)
# Politeness: connections at once per /24 (/48) and per ASN, and new
# connections per second per worker process (0 = no cap).
PROBE_PER_NETWORK = env_int("PROBE_PER_NETWORK", 4, minimum=1)
PROBE_PER_ASN = env_int("PROBE_PER_ASN", 64, minimum=1)
PROBE_RATE = env_int("PROBE_RATE", 500, minimum=0)
PROBE_BATCH_SIZE = env_int("PROBE_BATCH_SIZE", 500, minimum=1)
# Greylisted hosts (temp_failure) are probed again after 5, 10, 20 minutes.
PROBE_TEMP_RETRIES = env_int("PROBE_TEMP_RETRIES", 3, minimum=0)
PROBE_TEMP_RETRY_DELAY = env_int("PROBE_TEMP_RETRY_DELAY", 300, minimum=1)
# Open relays are probed again once they are this many days old.
PROBE_REVERIFY_DAYS = env_int("PROBE_REVERIFY_DAYS", 7, minimum=1)
# DNS evidence: empty = off, "system" = the system resolver, or "host:port".
PROBE_DNS_RESOLVER = env_str("PROBE_DNS_RESOLVER")
DNSBL_ZONES = env_list("DNSBL_ZONES")
# Lab mode only: a JSON file {"192.0.2.10": "127.1.0.10:2525", ...}.
LAB_HOST_MAP = env_str("LAB_HOST_MAP")


def _networks_checked(name: str, values: list[str]) -> list[str]:
    import ipaddress

    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not a network.") from None
    return values


def _probe_identity_checked() -> None:
    """The probe's names go into its SMTP commands verbatim: they must be plain."""
    import re

    name = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")
    local, _, domain = PROBE_MAIL_FROM.partition("@")
    checks = {
        "PROBE_HELO_NAME": name.match(PROBE_HELO_NAME),
        "PROBE_RCPT_DOMAIN": name.match(PROBE_RCPT_DOMAIN),
        "PROBE_MAIL_FROM": re.match(r"^[A-Za-z0-9._+-]{1,64}$", local) and name.match(domain),
    }
    for setting, ok in checks.items():
        if not ok:
            raise ImproperlyConfigured(f"{setting}={globals()[setting]!r} is not a plain name.")


_probe_identity_checked()
_networks_checked("PROBE_ALLOWED_NETWORKS", PROBE_ALLOWED_NETWORKS)
_networks_checked("NEVER_CONTACT_NETWORKS", NEVER_CONTACT_NETWORKS)
if LAB_HOST_MAP and not LAB_MODE:
    raise ImproperlyConfigured(
        "LAB_HOST_MAP is only read in LAB_MODE; set LAB_MODE=true or unset it."
    )
CELERY_BEAT_SCHEDULE["probes-reverify-open-relays"] = {
    "task": "probes.open_relays_reverify",
    "schedule": 6 * 3600,
}

# --- RDAP contacts --------------------------------------------------------
# Every registry and bootstrap URL is rewritten to this base, path kept (the
# lab simulator, tests). Empty in production: the real registries answer.
RDAP_BASE_URL = env_str("RDAP_BASE_URL")
RDAP_TIMEOUT = env_int("RDAP_TIMEOUT", 10, minimum=1)
RDAP_MAX_BYTES = env_int("RDAP_MAX_BYTES", 2_000_000, minimum=10_000)
# An answer covers its network for this long; later hosts inside reuse it.
RDAP_CACHE_DAYS = env_int("RDAP_CACHE_DAYS", 30, minimum=1)


def _rdap_pairs(name: str, default: str = "") -> dict[str, str]:
    pairs = {}
    for item in env_list(name, default):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name}: {item!r} is not KEY=VALUE.")
        pairs[key.strip()] = value.strip()
    return pairs


def _rdap_rates(name: str, default: str) -> dict[str, tuple[float, float]]:
    """{"lacnic": (capacity, tokens per second)} from "lacnic=6/60"."""
    rates = {}
    for registry, value in _rdap_pairs(name, default).items():
        count, _sep, seconds = value.partition("/")
        try:
            rates[registry.lower()] = (float(count), float(count) / float(seconds))
        except (ValueError, ZeroDivisionError):
            raise ImproperlyConfigured(f"{name}: {value!r} is not COUNT/SECONDS.") from None
    return rates


# Requests per bucket as "bucket=count/seconds", shared by all workers
# through Redis, each from the registry's published terms (README, "Registry
# limits"):
# - lacnic: its RDAP notice says 10/min and blocks for ~5 min; clients were
#   blocked at 6/min already, so 6/min.
# - ripe: queries are unlimited (reasonable use, 3 connections); only
#   personal data sets count, 1,000 a day, so only entity fetches
#   ("ripe-entity") are capped, at 900 a day; network lookups at 10/s.
# - afrinic: 5,000 person objects a day per IP: "afrinic-entity" 4,500 a
#   day; network lookups 5/s.
# - arin, apnic: no published figure; 5/s.
# - bootstrap: only for addresses the shipped RFC 7484 files do not place.
RDAP_RATE_LIMITS = _rdap_rates(
    "RDAP_RATE_LIMITS",
    "bootstrap=5/1,arin=5/1,apnic=5/1,ripe=10/1,ripe-entity=900/86400,lacnic=6/60,"
    "afrinic=5/1,afrinic-entity=4500/86400",
)
# Two workers never look up inside the same block at once (an RDAP network is
# rarely larger): misses inside one /16 or /32 wait for each other.
RDAP_LOCK_PREFIX_V4 = env_int("RDAP_LOCK_PREFIX_V4", 16, minimum=8)
RDAP_LOCK_PREFIX_V6 = env_int("RDAP_LOCK_PREFIX_V6", 32, minimum=16)
# Non-global networks that may still be looked up (the lab's documentation
# ranges). Empty in production.
RDAP_ALLOWED_NETWORKS = env_list("RDAP_ALLOWED_NETWORKS")
# Extra domains whose addresses answer for a whole registry (added to the
# built-in list in probes.rdap).
RDAP_PLACEHOLDER_DOMAINS = env_list("RDAP_PLACEHOLDER_DOMAINS")
# Last resort per country, "CC=address,...": the national CERT (rule 5).
RDAP_NATIONAL_CONTACTS = {k.upper(): v for k, v in _rdap_pairs("RDAP_NATIONAL_CONTACTS").items()}
# Origin AS and AS name from Team Cymru's DNS: "" (off), "system" (the host's
# resolver) or "host:port" (the lab's server). Off by default: RDAP alone
# names the AS only for ARIN, and the feeds often do.
RDAP_ASN_DNS = env_str("RDAP_ASN_DNS")
if RDAP_ASN_DNS not in {"", "system"} and not RDAP_ASN_DNS.rpartition(":")[2].isdigit():
    raise ImproperlyConfigured(f"RDAP_ASN_DNS={RDAP_ASN_DNS!r}: use system or host:port.")
# A second contact source: an Abusix-format abuse-contact DNS zone. "" (off),
# "system" (the host's resolver) or "host:port" (the lab's zone).
CONTACT_DNS_RESOLVER = env_str("CONTACT_DNS_RESOLVER")
if (
    CONTACT_DNS_RESOLVER not in {"", "system"}
    and not CONTACT_DNS_RESOLVER.rpartition(":")[2].isdigit()
):
    raise ImproperlyConfigured(
        f"CONTACT_DNS_RESOLVER={CONTACT_DNS_RESOLVER!r}: use system or host:port."
    )
CONTACT_DNS_ZONE = env_str("CONTACT_DNS_ZONE", "abuse-contacts.abusix.zone")
CONTACT_DNS_TIMEOUT = env_int("CONTACT_DNS_TIMEOUT", 2, minimum=1)
CONTACT_DNS_MAX_IN_FLIGHT = env_int("CONTACT_DNS_MAX_IN_FLIGHT", 50, minimum=1)
# Routing overrides "CC=agency-code,..."; otherwise Agency.jurisdiction decides.
RDAP_AGENCY_ROUTES = {k.upper(): v for k, v in _rdap_pairs("RDAP_AGENCY_ROUTES").items()}

# --- Demo (lab mode only) -------------------------------------------------
# Ports of the demo's simulated internet; `make demo` sets the rest (LAB_MODE,
# LAB_HOST_MAP, RDAP_BASE_URL, EMAIL_HOST/EMAIL_PORT for the local sink).
DEMO_LAB_PORT = env_int("DEMO_LAB_PORT", 2525, minimum=1)
DEMO_RDAP_PORT = env_int("DEMO_RDAP_PORT", 18043, minimum=1)
# flufl.bounce logs every detector it runs at INFO.
LOGGING.setdefault("loggers", {})["flufl.bounce"] = {"level": "WARNING"}

# --- Recipient page -------------------------------------------------------
# The public origin printed in letters before /r/<token>/ (no trailing slash).
# Empty in production unless set: letters then carry no link.
OUTREACH_PUBLIC_URL = env_str(
    "OUTREACH_PUBLIC_URL", "http://127.0.0.1:8000" if EMBEDDED else ""
).rstrip("/")
if OUTREACH_PUBLIC_URL and not OUTREACH_PUBLIC_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("OUTREACH_PUBLIC_URL must start with https:// or http://.")
# Key of the HMAC that turns a token's stored secret into its link. Defaults to
# SECRET_KEY; set it on its own so rotating SECRET_KEY keeps printed links valid.
OUTREACH_RECIPIENT_KEY = env_str("OUTREACH_RECIPIENT_KEY", SECRET_KEY)
OUTREACH_RECIPIENT_TOKEN_DAYS = env_int("OUTREACH_RECIPIENT_TOKEN_DAYS", 180, minimum=1)
# Limits: requests per client IP per hour, unknown tokens per IP per hour (the
# guessing brake), form posts per token per hour, re-tests per letter per day.
OUTREACH_RECIPIENT_IP_PER_HOUR = env_int("OUTREACH_RECIPIENT_IP_PER_HOUR", 300, minimum=1)
OUTREACH_RECIPIENT_MISSES_PER_HOUR = env_int("OUTREACH_RECIPIENT_MISSES_PER_HOUR", 20, minimum=1)
OUTREACH_RECIPIENT_POSTS_PER_HOUR = env_int("OUTREACH_RECIPIENT_POSTS_PER_HOUR", 30, minimum=1)
OUTREACH_RECIPIENT_RETESTS_PER_DAY = env_int("OUTREACH_RECIPIENT_RETESTS_PER_DAY", 3, minimum=0)
# Rate-limit counters live in their own cache: Redis when REDIS_URL is set so
# every web process shares them, process memory in the embedded mode.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "recipient": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "recipient",
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "recipient"}
    ),
}
# Links carry the token in their path: redact it from every log line, the
# development server's and Django's 404 warnings included.
LOGGING.setdefault("filters", {})["redact_tokens"] = {"()": "letters.logfilters.RedactTokens"}
LOGGING["handlers"]["console"]["filters"] = ["redact_tokens"]
LOGGING["handlers"]["django.server"] = {
    "class": "logging.StreamHandler",
    "formatter": "plain",
    "filters": ["redact_tokens"],
}
LOGGING.setdefault("loggers", {}).update(
    {
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["redact_tokens"]},
        # Django's own configuration gives "django" a console handler of its
        # own under DEBUG (and mail_admins otherwise), which bypasses ours: the
        # CSRF warning "Forbidden (CSRF cookie not set.): /r/<token>/…" came
        # out whole. Route it through the redacting console instead.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    }
)
