"""Settings come from the environment; bad values stop start-up with a
message naming the variable. Each case imports the settings module in a
fresh interpreter with a clean environment. The probes read the settings
without `django.setup()`: loading every app (1.5-2 CPU-seconds an
interpreter) changes none of the values read here, and a bad value stops
the import of the settings module, before any app loads; the deploy check
below starts the whole project with production settings."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": "redis" if "redis" in settings.Q_CLUSTER else "orm" if "orm" in settings.Q_CLUSTER else "?",
    "email": settings.EMAIL_BACKEND,
    "storage": settings.STORAGES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "q": settings.Q_CLUSTER,
    "pooler": settings.DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False),
}))
"""


def run_settings(**env):
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "levqor.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def loaded(**env) -> dict:
    result = run_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_runs_on_the_embedded_default_with_no_variables():
    config = loaded()
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["cache"].endswith("LocMemCache")
    assert config["broker"] == "orm"
    assert config["email"] == "anymail.backends.console.EmailBackend"
    assert config["storage"].endswith("FileSystemStorage")


def test_it_switches_to_postgresql_and_redis_from_urls():
    config = loaded(
        DATABASE_URL="postgres://levqor:pw@db.internal:5432/levqor",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["db_name"] == "levqor"
    assert config["cache"] == "levqor.lib.cache.RedisCache"
    assert config["broker"] == "redis"
    assert config["q"]["redis"] == "redis://cache.internal:6379/2"
    assert config["pooler"] is False  # server-side state (the webhook's prepared statement) is kept


def test_behind_a_transaction_pooler_it_keeps_no_server_side_state():
    config = loaded(
        DATABASE_URL="postgres://levqor:pw@pgbouncer.internal:6432/levqor", LEVQOR_DB_TRANSACTION_POOLER="true"
    )
    assert config["pooler"] is True


def test_it_uses_resend_and_s3_when_configured():
    config = loaded(RESEND_API_KEY="re_test_123", AWS_STORAGE_BUCKET_NAME="levqor-private")
    assert config["email"] == "anymail.backends.resend.EmailBackend"
    assert config["storage"] == "storages.backends.s3.S3Storage"


def test_it_configures_the_queue_with_bounded_retries():
    q = loaded()["q"]
    assert q["retry"] > q["timeout"]
    assert q["max_attempts"] >= 1
    assert q["catch_up"] is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DATABASE_URL": "mysql://root@localhost/levqor"}, "DATABASE_URL must be a URL starting with one of"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL must be a URL starting with one of"),
        ({"LEVQOR_Q_TIMEOUT": "soon"}, "LEVQOR_Q_TIMEOUT='soon' is not a whole number"),
        ({"LEVQOR_Q_TIMEOUT": "600", "LEVQOR_Q_RETRY": "300"}, "LEVQOR_Q_RETRY must be greater than LEVQOR_Q_TIMEOUT"),
        ({"STRIPE_LIVE_MODE": "perhaps"}, "STRIPE_LIVE_MODE='perhaps' is not a boolean"),
    ],
)
def test_it_fails_at_start_up_on_a_bad_value(env, message):
    result = run_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.slow
def test_production_settings_pass_the_deploy_checks():
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-value",
        "ALLOWED_HOSTS": "console.levqor.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout


BASE_URL_PROBE = "from django.conf import settings; print(settings.LEVQOR_BASE_URL)"


def base_url(**env) -> str:
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "levqor.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", BASE_URL_PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_it_links_emails_to_the_port_make_run_serves_on():
    # `LEVQOR_PORT=8123 make run`: seeded and sent emails link to :8123, not :8000.
    assert base_url(LEVQOR_PORT="8123") == "http://127.0.0.1:8123"
    assert base_url() == "http://127.0.0.1:8000"
    assert base_url(LEVQOR_PORT="8123", LEVQOR_BASE_URL="https://console.example/") == "https://console.example"
    assert "LEVQOR_PORT" in run_settings(LEVQOR_PORT="eighty").stderr
