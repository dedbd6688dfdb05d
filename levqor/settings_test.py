"""Test settings: the real settings module, with the few changes tests need.

DATABASE_URL and REDIS_URL still choose the database and cache, so the same
suite runs on SQLite and on PostgreSQL + Redis (see .ci/run).
"""

import os
import uuid

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "levqor-test-secret-key-not-for-production")
os.environ.setdefault("LEVQOR_SSL_REDIRECT", "false")
os.environ.setdefault("LEVQOR_BASE_URL", "http://testserver")
# Status webhook tests POST to a real server on 127.0.0.1.
os.environ.setdefault("LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK", "true")

from .settings import *  # noqa: E402, F403
from .settings import BASE_DIR, CACHES, DATABASES, Q_CLUSTER  # noqa: E402

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

# django-q2 reads Q_CLUSTER once at import: tasks run inline in tests.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
# WhiteNoise looks a static file up when one is asked for, instead of
# indexing STATIC_ROOT whenever a middleware stack is built: the test client
# builds one per test, and where `make bench` or `collectstatic` had left
# staticfiles/ (about 700 files) that indexing was a third of the non-browser
# tests' time (a 464-test slice: 60 s with it, 40 s without).
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not Django's shared in-memory database, so tests with several
    # threads see real SQLite locking (WAL + IMMEDIATE) like production.
    # One file per test process, so parallel runs never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-levqor-{os.getpid()}.sqlite3")}

if "KEY_PREFIX" in CACHES["default"]:
    # Several runs may share one Redis: keep each run's keys apart.
    CACHES["default"]["KEY_PREFIX"] = f"levqor-test-{uuid.uuid4().hex[:8]}"

LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
