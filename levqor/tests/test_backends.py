"""The suite runs on the backends the environment names: CI runs it once on
SQLite and once with DATABASE_URL/REDIS_URL set; this proves the second run
really is on PostgreSQL and Redis rather than silently on the defaults."""

import os

import pytest
from django.core.cache import cache, caches
from django.db import connection


@pytest.mark.django_db
def test_it_runs_on_the_database_the_environment_names():
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected


def test_it_uses_the_cache_the_environment_names():
    backend = type(caches["default"]).__name__
    assert backend == ("RedisCache" if os.environ.get("REDIS_URL") else "LocMemCache")
    cache.set("levqor-probe", 41)
    assert cache.incr("levqor-probe") == 42
