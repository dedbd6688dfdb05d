"""The suite runs on the backends the environment names: CI runs it once on
SQLite and once with DATABASE_URL/REDIS_URL set; this proves the second run
really is on PostgreSQL and Redis rather than silently on the defaults."""

import os

import pytest
from django.core.cache import cache, caches
from django.db import connection

from levqor.lib.cache import clear_own_keys


@pytest.mark.django_db
def test_it_runs_on_the_database_the_environment_names():
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected


def test_it_uses_the_cache_the_environment_names():
    backend = type(caches["default"]).__name__
    assert backend == ("RedisCache" if os.environ.get("REDIS_URL") else "LocMemCache")
    cache.set("levqor-probe", 41)
    assert cache.incr("levqor-probe") == 42


def test_clearing_the_cache_between_tests_leaves_other_processes_keys_alone():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: local memory is per process anyway")
    ours = caches["default"]
    client = ours._cache.get_client(write=True)
    client.set("another-run:1:their-key", "theirs")
    ours.set("our-key", "ours")
    clear_own_keys(ours)
    assert ours.get("our-key") is None
    assert client.get("another-run:1:their-key") == b"theirs"
    client.delete("another-run:1:their-key")
