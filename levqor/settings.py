"""Levqor settings: one module, driven by environment variables.

With no variables set the console runs on the embedded default: SQLite, the
django-q2 ORM broker, a local-memory cache, email printed to the console and
files on local disk. Every variable is listed, with its default, in README.md.

A value that cannot be parsed stops start-up with a message naming the
variable; nothing falls back silently to a default.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: anything but the usual spellings is an error."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, *, schemes: set[str]) -> str:
    raw = env.str(name, default="").strip()
    if not raw:
        return ""
    scheme = urlsplit(raw).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of: {allowed} (got scheme {scheme!r}).")
    return raw


# --- Core -----------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "levqor-insecure-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("LEVQOR_CSRF_TRUSTED_ORIGINS", [])
# Links in emails. Unset, it follows the port `make run` serves on (LEVQOR_PORT, as scripts/dev.py).
LEVQOR_PORT = env_int("LEVQOR_PORT", 8000, minimum=1)
LEVQOR_BASE_URL = env.str("LEVQOR_BASE_URL", default=f"http://127.0.0.1:{LEVQOR_PORT}").rstrip("/")
if urlsplit(LEVQOR_BASE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured("LEVQOR_BASE_URL must start with http:// or https://.")

INSTALLED_APPS = [
    "levqor.apps.LevqorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "anymail",
    "django_q",
    "djstripe",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "levqor",
    "compliance",
    "levqor.accounts",
    "levqor.pages",
    "levqor.workflows",
    "levqor.api",
    "levqor.assist",
    "levqor.metrics",
    "billing",
    "status",
    "support",
]

MIDDLEWARE = [
    # First: a cookie-less GET of /-/ping, /api/status/health or /api/v2/summary.json
    # skips the middleware below that has nothing to do for it (sessions, CSRF, auth, ...).
    "levqor.middleware.FastLaneMiddleware",
    "levqor.middleware.CorrelationIdMiddleware",
    "levqor.metrics.middleware.ServerErrorCountMiddleware",
    "levqor.api.middleware.ApiLimitHeadersMiddleware",
    "levqor.api.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "levqor.middleware.CSPMiddleware",  # django-csp, its common-case headers built once
    "levqor.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "levqor.middleware.MessageMiddleware",  # Django's, its storage built only when used
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "compliance.middleware.TermsGateMiddleware",
    # Last: turns a request django-axes flagged as locked out into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "levqor.urls"
WSGI_APPLICATION = "levqor.wsgi.application"
ASGI_APPLICATION = "levqor.asgi.application"

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
                "levqor.context_processors.site",
                "compliance.context_processors.privacy",
            ],
        },
    },
]

# One form style everywhere (levqor/lib/forms.py, templates/forms/).
FORM_RENDERER = "levqor.lib.forms.FormRenderer"

# --- Database ---------------------------------------------------------------

DATABASE_URL = env_url("DATABASE_URL", schemes={"sqlite", "postgres", "postgresql", "pgsql"})
if DATABASE_URL:
    try:
        _db = env.db_url_config(DATABASE_URL)
    except Exception as exc:  # django-environ raises several kinds here
        raise ImproperlyConfigured(f"DATABASE_URL could not be parsed: {exc}") from None
    if _db["ENGINE"].endswith("postgresql"):
        _db.setdefault("CONN_MAX_AGE", env_int("LEVQOR_DB_CONN_MAX_AGE", 60, minimum=0))
        _db["CONN_HEALTH_CHECKS"] = True
        # A database that does not accept connections must fail fast, not
        # hang a request (or the health endpoint) until the OS gives up.
        _db.setdefault("OPTIONS", {})["connect_timeout"] = env_int("LEVQOR_DB_CONNECT_TIMEOUT", 5, minimum=1)
        # Behind a pooler in transaction mode (PgBouncer) a connection's
        # server-side state does not last: Django's switch for it, which
        # also keeps the webhook acknowledgement's statement unprepared.
        if env_bool("LEVQOR_DB_TRANSACTION_POOLER", False):
            _db["DISABLE_SERVER_SIDE_CURSORS"] = True
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "var" / "levqor.sqlite3")}
if _db["ENGINE"].endswith("sqlite3"):
    # Without these, concurrent requests (webhooks, the threaded dev server,
    # a qcluster beside the web process) fail with "database is locked".
    # synchronous=NORMAL is SQLite's advice for WAL: a commit no longer waits
    # for an fsync (the API's per-call quota counter is a commit); a power
    # cut can lose the last commits, never corrupt the file.
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, throttles and the task broker ------------------------------------

REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss", "unix"})
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "levqor.lib.cache.RedisCache",  # one Redis client per pool, not per call
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("LEVQOR_CACHE_PREFIX", default="levqor"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "levqor"}}

# django-q2. `retry` must exceed `timeout`, or a slow task is handed to a
# second worker while the first still runs; `max_attempts` bounds retries
# (0 would retry forever); `catch_up` off so a cluster that was down does not
# replay every missed run of every schedule at once.
Q_CLUSTER = {
    "name": "levqor",
    "workers": env_int("LEVQOR_Q_WORKERS", 2, minimum=1),
    "timeout": env_int("LEVQOR_Q_TIMEOUT", 300, minimum=1),
    "retry": env_int("LEVQOR_Q_RETRY", 360, minimum=2),
    "max_attempts": env_int("LEVQOR_Q_MAX_ATTEMPTS", 5, minimum=1),
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "label": "Task queue",
}
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("LEVQOR_Q_RETRY must be greater than LEVQOR_Q_TIMEOUT.")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # One Redis client per process, not a new connection per queued task.
    Q_CLUSTER["broker_class"] = "levqor.lib.qbroker.PooledRedis"
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth -------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses password sign-ins from a locked-out client (django-axes).
    "compliance.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "sesame.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "pages:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Magic links: valid 15 minutes, usable once (the token embeds last_login,
# which signing in changes).
SESAME_MAX_AGE = env_int("LEVQOR_MAGIC_LINK_MAX_AGE", 15 * 60, minimum=60)
SESAME_ONE_TIME = True
SESAME_TOKEN_NAME = "token"  # noqa: S105 - the query parameter name, not a secret

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Email ------------------------------------------------------------------

RESEND_API_KEY = env.str("RESEND_API_KEY", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Levqor <no-reply@levqor.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
LEVQOR_SUPPORT_EMAIL = env.str("LEVQOR_SUPPORT_EMAIL", default="support@levqor.local")
# Inbound email (Resend "receiving" through anymail's inbound webhook): the
# domain Resend receives mail for. Set, ticket emails carry a Reply-To of
# support+t<id>.<token>@<domain> and a reply by email joins the ticket's thread.
LEVQOR_SUPPORT_INBOUND_DOMAIN = env.str("LEVQOR_SUPPORT_INBOUND_DOMAIN", default="")
RESEND_INBOUND_SECRET = env.str("RESEND_INBOUND_SECRET", default="")
# The outbox tries a failing email this many times (5 min, 10, 20, ... up to
# 6 hours apart) before it is "failed" and left to staff.
LEVQOR_EMAIL_MAX_ATTEMPTS = env_int("LEVQOR_EMAIL_MAX_ATTEMPTS", 8, minimum=1)
if RESEND_API_KEY:
    EMAIL_BACKEND = "anymail.backends.resend.EmailBackend"
else:
    EMAIL_BACKEND = "anymail.backends.console.EmailBackend"
EMAIL_BACKEND = env.str("LEVQOR_EMAIL_BACKEND", default=EMAIL_BACKEND)
ANYMAIL = {"RESEND_API_KEY": RESEND_API_KEY, "RESEND_INBOUND_SECRET": RESEND_INBOUND_SECRET}

# --- Stripe (dj-stripe) -------------------------------------------------------

STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", False)
STRIPE_TEST_SECRET_KEY = env.str("STRIPE_TEST_SECRET_KEY", default="")
STRIPE_LIVE_SECRET_KEY = env.str("STRIPE_LIVE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
# Stripe's events are a few KB; bigger webhook bodies are refused with 413.
LEVQOR_STRIPE_WEBHOOK_MAX_BYTES = env_int("LEVQOR_STRIPE_WEBHOOK_MAX_BYTES", 256 * 1024, minimum=1024)
if env_url("STRIPE_API_HOST", schemes={"http", "https"}):
    # dj-stripe points the stripe library at this host (localstripe in
    # tests). Only defined when set: dj-stripe warns whenever it exists.
    STRIPE_API_HOST = env_url("STRIPE_API_HOST", schemes={"http", "https"})

# --- Files ------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("LEVQOR_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ENDPOINT_URL = env_url("AWS_S3_ENDPOINT_URL", schemes={"http", "https"}) or None
# Everything we store (exports, attachments) is private: no public ACLs, and
# links are signed and short-lived.
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = True
AWS_QUERYSTRING_EXPIRE = 600

if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Security ------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("LEVQOR_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("LEVQOR_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Content Security Policy (django-csp 4): our pages load only our own files;
# no inline script anywhere (a page that truly needs one uses the nonce).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],  # the nonce appears only on pages that use one
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # Our forms post to ourselves; the checkout and "Manage billing" forms
        # are then redirected to Stripe, which browsers check against this too.
        "form-action": ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"],
        "frame-ancestors": ["'none'"],
    },
}
# Sent by levqor.middleware.PermissionsPolicyMiddleware on every response.
LEVQOR_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)

# Client IPs: with N trusted proxies in front (a load balancer = 1), the
# client is the Nth address from the right of X-Forwarded-For; with 0 it is
# REMOTE_ADDR. Rate limits, lockouts and abuse signals all use this.
LEVQOR_TRUSTED_PROXY_COUNT = env_int("LEVQOR_TRUSTED_PROXY_COUNT", 0, minimum=0)

# Failed sign-in lockout (django-axes, for admin passwords and the customer
# sign-in link form): 5 failures within 10 minutes lock the client out for
# 15 minutes. The window and lockout are enforced by compliance.lockout.
AXES_HANDLER = "compliance.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env_int("LEVQOR_LOCKOUT_FAILURES", 5, minimum=1)
LEVQOR_LOCKOUT_WINDOW_MINUTES = env_int("LEVQOR_LOCKOUT_WINDOW_MINUTES", 10, minimum=1)
LEVQOR_LOCKOUT_MINUTES = env_int("LEVQOR_LOCKOUT_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=max(LEVQOR_LOCKOUT_MINUTES, LEVQOR_LOCKOUT_WINDOW_MINUTES))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "compliance.lockout.username_from"
AXES_CLIENT_IP_CALLABLE = "compliance.lockout.client_ip"
AXES_CLIENT_STR_CALLABLE = "compliance.lockout.client_str"
AXES_LOCKOUT_CALLABLE = "compliance.lockout.lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "email", "token", "sesame"]
AXES_VERBOSE = False

# Per-IP rate limits on public forms, counted in the shared cache.
LEVQOR_RATELIMIT_ENABLED = env_bool("LEVQOR_RATELIMIT_ENABLED", True)

# --- Logging: every line carries the request's correlation id -------------------

# One JSON object per line in production (DEBUG off), readable lines in development.
LEVQOR_LOG_FORMAT = env.str("LEVQOR_LOG_FORMAT", default="plain" if DEBUG else "json").strip().lower()
if LEVQOR_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LEVQOR_LOG_FORMAT={LEVQOR_LOG_FORMAT!r} must be plain or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation": {"()": "levqor.lib.correlation.CorrelationIdFilter"},
        "redact": {"()": "levqor.lib.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
        "json": {"()": "levqor.lib.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation", "redact"],
            "formatter": LEVQOR_LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LEVQOR_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's access lines carry full URLs (a sign-in link's token): through our redacting handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django-sesame names the user (an email address) in its debug lines.
        "sesame": {"level": "WARNING"},
    },
}

# --- Status (app `status`) --------------------------------------------------------

# Raw 5-minute snapshots are pruned after this many days; hourly and daily
# rollups (what the page and the API read) are kept longer.
LEVQOR_STATUS_RAW_RETENTION_DAYS = env_int("LEVQOR_STATUS_RAW_RETENTION_DAYS", 30, minimum=2)
LEVQOR_STATUS_HOURLY_RETENTION_DAYS = env_int("LEVQOR_STATUS_HOURLY_RETENTION_DAYS", 90, minimum=8)
LEVQOR_STATUS_DAILY_RETENTION_DAYS = env_int("LEVQOR_STATUS_DAILY_RETENTION_DAYS", 400, minimum=400)
# /api/status/health answers from a cached copy of the stored results; a
# database read for it gives up after this many milliseconds.
LEVQOR_STATUS_HEALTH_CACHE_SECONDS = env_int("LEVQOR_STATUS_HEALTH_CACHE_SECONDS", 5, minimum=0)
# The rendered /status page and /api/v2 JSON: rebuilt at once on any change
# to the status data (status/cache_keys.py); this bounds what changes with
# the clock alone (staleness, a new day's bar).
LEVQOR_STATUS_PAGE_CACHE_SECONDS = env_int("LEVQOR_STATUS_PAGE_CACHE_SECONDS", 30, minimum=0)
LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS = env_int("LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS", 500, minimum=50)
# The Web/API probe (run by the task queue, never by a request) fetches this URL.
LEVQOR_STATUS_PROBE_URL = env_url("LEVQOR_STATUS_PROBE_URL", schemes={"http", "https"}) or f"{LEVQOR_BASE_URL}/-/ping"
# Statuspage v2 `page.id`: a short lowercase string.
LEVQOR_STATUS_PAGE_ID = env.str("LEVQOR_STATUS_PAGE_ID", default="levqorstatus")
# The Statuspage-compatible manage API (/api/v1/): calls per staff key in any window.
LEVQOR_STATUS_API_RATE_LIMIT = env_int("LEVQOR_STATUS_API_RATE_LIMIT", 60, minimum=1)
LEVQOR_STATUS_API_RATE_WINDOW = env_int("LEVQOR_STATUS_API_RATE_WINDOW", 60, minimum=1)
# On-call: who hears when a component goes down or monitoring goes stale
# (comma-separated addresses) and a Slack-compatible webhook ({"text": ...}).
LEVQOR_ONCALL_EMAILS = env_list("LEVQOR_ONCALL_EMAILS", [])
LEVQOR_ONCALL_WEBHOOK_URL = env_url("LEVQOR_ONCALL_WEBHOOK_URL", schemes={"http", "https"})
LEVQOR_ONCALL_WEBHOOK_TIMEOUT_SECONDS = env_int("LEVQOR_ONCALL_WEBHOOK_TIMEOUT_SECONDS", 3, minimum=1)
# Status webhook subscribers (README "Status subscriptions and webhooks"): each
# POST waits this long; a delivery is tried this many times with backoff; a
# subscriber is disabled (and its owner emailed) after this many failed POSTs
# in a row spanning at least this many hours. Plain-http loopback endpoints
# (http://127.0.0.1/...) are accepted only when allowed (DEBUG, tests).
LEVQOR_STATUS_WEBHOOK_TIMEOUT_SECONDS = env_int("LEVQOR_STATUS_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
LEVQOR_STATUS_WEBHOOK_MAX_ATTEMPTS = env_int("LEVQOR_STATUS_WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_FAILURES = env_int("LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_FAILURES", 10, minimum=1)
LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_HOURS = env_int("LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_HOURS", 24, minimum=0)
LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK = env_bool("LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK", DEBUG)

# --- Support (app `support`) -------------------------------------------------------


def _sla_tiers(raw: str) -> list[tuple[str, int]]:
    """Parse e.g. 99.9:10,99:25,95:50 (uptime below 99.9 % → 10 % of the month's fee, ...)."""
    tiers = []
    for item in raw.split(","):
        below, _, percent = item.strip().partition(":")
        try:
            if not 0 < float(below) <= 100 or not 0 < int(percent) <= 100:
                raise ValueError
        except ValueError:
            raise ImproperlyConfigured(
                f"LEVQOR_SLA_CREDIT_TIERS item {item!r} must be <uptime %>:<credit %>, e.g. 99.9:10."
            ) from None
        tiers.append((below.strip(), int(percent)))
    return tiers


# Suggested SLA credit: uptime below each threshold → that share of the month's fee (capped at one fee).
LEVQOR_SLA_CREDIT_TIERS = _sla_tiers(env.str("LEVQOR_SLA_CREDIT_TIERS", default="99.9:10,99:25,95:50"))
# Largest attachment on an SLA credit request (PDF, PNG, JPEG, TXT, CSV, LOG).
LEVQOR_SUPPORT_ATTACHMENT_MAX_BYTES = env_int("LEVQOR_SUPPORT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)

# --- Data requests, erasure and retention (app `compliance`) ------------------------

# Each app's privacy provider (what it holds about a person, how to export,
# erase and prune it), loaded lazily by compliance.dsar.providers. Compliance's
# own first; accounts last: it replaces the person's address, which the others
# still match on.
LEVQOR_PRIVACY_PROVIDERS = [
    "compliance.dsar.privacy.provider",
    "levqor.api.privacy.provider",
    "levqor.workflows.privacy.provider",
    "billing.privacy.provider",
    "status.privacy.provider",
    "support.privacy.provider",
    "levqor.accounts.privacy.provider",
]
# One data export per this many days per person; the emailed link lasts this long.
LEVQOR_DSAR_MIN_DAYS_BETWEEN = env_int("LEVQOR_DSAR_MIN_DAYS_BETWEEN", 30, minimum=0)
LEVQOR_DSAR_LINK_DAYS = env_int("LEVQOR_DSAR_LINK_DAYS", 7, minimum=1)
# Build attempts before an export is marked failed (the error is kept for staff).
LEVQOR_DSAR_MAX_ATTEMPTS = env_int("LEVQOR_DSAR_MAX_ATTEMPTS", 3, minimum=1)
# An erasure that failed at an outside processor (Stripe unreachable) is
# retried hourly this many times before it waits for staff.
LEVQOR_ERASURE_AUTO_RETRIES = env_int("LEVQOR_ERASURE_AUTO_RETRIES", 6, minimum=0)
# Days each kind of data is kept (applied daily by levqor:compliance.apply_retention).
LEVQOR_RETENTION_DAYS = {
    "run_logs": env_int("LEVQOR_RETENTION_RUN_LOGS_DAYS", 365, minimum=1),
    "status_raw_snapshots": LEVQOR_STATUS_RAW_RETENTION_DAYS,
    "webhook_payloads": env_int("LEVQOR_RETENTION_WEBHOOK_PAYLOADS_DAYS", 90, minimum=1),
    "expired_exports": env_int("LEVQOR_RETENTION_EXPIRED_EXPORTS_DAYS", 30, minimum=0),
    "audit_details": env_int("LEVQOR_RETENTION_AUDIT_DETAILS_DAYS", 6 * 365, minimum=365),
    "email_log": env_int("LEVQOR_RETENTION_EMAIL_LOG_DAYS", 2 * 365, minimum=30),
    "sign_in_attempts": env_int("LEVQOR_RETENTION_SIGN_IN_ATTEMPTS_DAYS", 30, minimum=1),
    "sign_in_logs": env_int("LEVQOR_RETENTION_SIGN_IN_LOGS_DAYS", 90, minimum=1),
    "abuse_signals": env_int("LEVQOR_RETENTION_ABUSE_SIGNALS_DAYS", 90, minimum=1),
    "unconfirmed_subscriptions": env_int("LEVQOR_RETENTION_UNCONFIRMED_SUBSCRIPTIONS_DAYS", 30, minimum=8),
    "cookie_consents": env_int("LEVQOR_RETENTION_COOKIE_CONSENTS_DAYS", 2 * 365, minimum=400),
    "terms_evidence": env_int("LEVQOR_RETENTION_TERMS_EVIDENCE_DAYS", 6 * 365, minimum=365),
    # Privacy-centre requests nobody verified (the link works 7 days).
    "unverified_privacy_requests": env_int("LEVQOR_RETENTION_UNVERIFIED_PRIVACY_REQUESTS_DAYS", 30, minimum=8),
    "sla_attachments": env_int("LEVQOR_RETENTION_SLA_ATTACHMENTS_DAYS", 365, minimum=30),
    "status_unconfirmed_subscribers": env_int("LEVQOR_RETENTION_STATUS_UNCONFIRMED_SUBSCRIBERS_DAYS", 30, minimum=8),
}

# --- AI assist (app `levqor.assist`) and app metrics (app `levqor.metrics`) -------

# The assistant answers from an offline, deterministic provider built from the
# product's own docs and the account's data. With an Anthropic API key set it
# asks Claude through the official SDK instead (time-boxed; on a timeout or an
# error it falls back to the offline answer), and counts each call's cost.
LEVQOR_AI_ANTHROPIC_API_KEY = env.str("LEVQOR_AI_ANTHROPIC_API_KEY", default="").strip()
LEVQOR_AI_PROVIDER = env.str("LEVQOR_AI_PROVIDER", default="anthropic" if LEVQOR_AI_ANTHROPIC_API_KEY else "offline")
if LEVQOR_AI_PROVIDER not in {"offline", "anthropic"}:
    raise ImproperlyConfigured(f"LEVQOR_AI_PROVIDER={LEVQOR_AI_PROVIDER!r} must be offline or anthropic.")
if LEVQOR_AI_PROVIDER == "anthropic" and not LEVQOR_AI_ANTHROPIC_API_KEY:
    raise ImproperlyConfigured("LEVQOR_AI_PROVIDER=anthropic needs LEVQOR_AI_ANTHROPIC_API_KEY.")
LEVQOR_AI_ANTHROPIC_BASE_URL = env_url("LEVQOR_AI_ANTHROPIC_BASE_URL", schemes={"http", "https"})
LEVQOR_AI_MODEL = env.str("LEVQOR_AI_MODEL", default="claude-haiku-4-5")
LEVQOR_AI_TIMEOUT_SECONDS = env_int("LEVQOR_AI_TIMEOUT_SECONDS", 8, minimum=1)
LEVQOR_AI_MAX_TOKENS = env_int("LEVQOR_AI_MAX_TOKENS", 800, minimum=64)


def env_decimal(name: str, default: str) -> Decimal:
    raw = env.str(name, default=default).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must be zero or more.")
    return value


# What the provider charges, in US dollars per million tokens (the model's list price).
LEVQOR_AI_USD_PER_MTOK_IN = env_decimal("LEVQOR_AI_USD_PER_MTOK_IN", "1.00")
LEVQOR_AI_USD_PER_MTOK_OUT = env_decimal("LEVQOR_AI_USD_PER_MTOK_OUT", "5.00")
# Assistant call records (sizes, provider, cost: never the text) are kept this long.
LEVQOR_AI_CALL_RETENTION_DAYS = env_int("LEVQOR_AI_CALL_RETENTION_DAYS", 400, minimum=31)
# `Authorization: Bearer <token>` for GET /metrics (Prometheus) and, for
# machines, GET /api/metrics/app. Unset: /metrics answers 404.
LEVQOR_METRICS_TOKEN = env.str("LEVQOR_METRICS_TOKEN", default="").strip()
if LEVQOR_METRICS_TOKEN and len(LEVQOR_METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("LEVQOR_METRICS_TOKEN must be at least 24 characters.")
# Anonymous telemetry counts (event, hour, count) older than this are deleted.
LEVQOR_TELEMETRY_RETENTION_DAYS = env_int("LEVQOR_TELEMETRY_RETENTION_DAYS", 400, minimum=31)

# --- REST framework (the API issue fills this in) --------------------------------

# Every DRF view gets API-key auth, the burst limit and monthly quota, JSON
# only, and the one error format. Public views opt out explicitly with
# authentication_classes = [], permission_classes = [AllowAny], throttle_classes = [].
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["levqor.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["levqor.api.permissions.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["levqor.api.throttling.ApiKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["levqor.lib.drf.parsers.SafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "levqor.lib.drf.pagination.ApiPagination",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "levqor.lib.drf.negotiation.ApiContentNegotiation",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "levqor.lib.drf.errors.exception_handler",
    # Client IPs for the per-IP burst limit, same rule as everywhere else.
    "NUM_PROXIES": LEVQOR_TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Short-window burst limits (sliding windows in the shared cache). The monthly
# quotas per plan are one table in levqor/api/quotas.py.
LEVQOR_API_BURST_WINDOW = env_int("LEVQOR_API_BURST_WINDOW", 10, minimum=1)
LEVQOR_API_BURST_PER_KEY = env_int("LEVQOR_API_BURST_PER_KEY", 50, minimum=1)
LEVQOR_API_BURST_PER_IP = env_int("LEVQOR_API_BURST_PER_IP", 100, minimum=1)
# With Redis, the monthly counters are written through to the database at
# least this often while calls come (0: every call); levqor/api/meter.py.
LEVQOR_API_QUOTA_FLUSH_SECONDS = env_int("LEVQOR_API_QUOTA_FLUSH_SECONDS", 5, minimum=0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Levqor API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "Workflows, runs and the sandbox. Authenticate with an API key "
    "(`X-Api-Key` or `Authorization: Bearer`); guide, quotas and errors at /api-docs.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "levqor.api.schema.add_input_errors",
        "levqor.api.schema.add_limit_headers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "levqor.workflows.models.Run.Status",
        "RunLogLevelEnum": "levqor.workflows.models.RunLog.Level",
        "SlaCreditStatusEnum": "support.models.SlaCreditRequest.Status",
        "SlaImpactEnum": "support.models.Impact",
        "SlaPeriodKindEnum": "support.models.SlaCreditRequest.PeriodKind",
        "DisputeStatusEnum": "support.models.Dispute.Status",
        "DisputeCategoryEnum": "support.models.Dispute.Category",
        "DisputeSourceEnum": "support.models.Dispute.Source",
        "CreditCurrencyEnum": "support.serializers.CURRENCY_CHOICES",
        "StatuspageIncidentOrMaintenanceStatusEnum": "status.manage_serializers.ANY_STATUSES",
        "StatuspageComponentStatusEnum": "status.manage_serializers.COMPONENT_STATUSES",
        "StatuspageImpactEnum": "status.manage_serializers.IMPACTS",
    },
    "TAGS": [
        {"name": "workflows", "description": "Create, read, change and delete workflows."},
        {"name": "runs", "description": "Start runs and read their status, cost, timings and logs."},
        {"name": "sandbox", "description": "Sandbox usage (sandbox keys: lvq_test_…)."},
        {"name": "ai", "description": "AI assist: answers, workflow drafts, debugging and onboarding steps."},
        {"name": "usage", "description": "Calls used and left this month, per key and for the account."},
        {"name": "metrics", "description": "Staff only: the app's health figures (also /metrics for Prometheus)."},
        {"name": "dsar", "description": "Your personal data: request an export (one every 30 days) and list yours."},
        {"name": "support", "description": "SLA credit requests and disputes: file them and follow your own."},
        {"name": "support-staff", "description": "Staff only: the SLA credit queue and decisions."},
        {
            "name": "status-manage",
            "description": "Staff status API keys only: the Statuspage-compatible manage API v1 "
            "(`Authorization: OAuth <key>`).",
        },
    ],
}
