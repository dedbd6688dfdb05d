"""Shared fixtures: the three personas (staff, customer, other customer),
email through anymail's test backend, and headless Chromium for tests marked
`browser` (Debian's /usr/bin/chromium driven by Playwright; where it is
missing those tests are skipped with a message saying so — `.ci/run`
installs it, so CI always runs them)."""

import os
import shutil

import pytest
from django.core import mail

from levqor.accounts.models import Account, User
from levqor.accounts.services import account_create

# Kept through the flush that ends every transactional test: the content
# types and permissions, which only migrate's post_migrate writes (no test
# changes them). Emptied, post_migrate rebuilt them after every such test,
# about 600 permission rows: half of each transactional test's teardown on
# SQLite (0.2 -> 0.1 s). post_migrate still runs, finds them present and
# writes nothing; every other table is emptied as before.
KEPT_THROUGH_FLUSH = frozenset({"django_content_type", "auth_permission"})


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_content_types_and_permissions():
    from django.core.management.commands import flush

    def sql_flush(style, connection, reset_sequences=True, allow_cascade=False):
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        kept = [table for table in tables if table not in KEPT_THROUGH_FLUSH]
        if connection.vendor == "postgresql" and not reset_sequences:
            # DELETE, not TRUNCATE: a test leaves a few rows in a few of the
            # ~150 tables, and TRUNCATE gives every table and index new files
            # (0.5 s a flush on an idle machine, 1.5 s under load). Foreign
            # keys are deferred to the commit, by which time every
            # referencing row is gone too.
            quote = connection.ops.quote_name
            return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {quote(table)}" for table in kept)]  # noqa: S608 - table names from introspection
        return connection.ops.sql_flush(style, kept, reset_sequences=reset_sequences, allow_cascade=allow_cascade)

    original, flush.sql_flush = flush.sql_flush, sql_flush
    yield
    flush.sql_flush = original


@pytest.fixture(autouse=True)
def _anymail_test_backend(settings):
    # Django's test setup forces the locmem backend; anymail's test backend
    # also records tags and metadata, and still fills mail.outbox.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import caches

    from levqor.lib.cache import clear_own_keys
    from status.cache_keys import forget_local

    clear_own_keys(caches["default"])  # not clear(): parallel workers share one Redis database
    forget_local()  # the copies of status documents each process keeps beside the cache
    yield


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser(email="staff@levqor.test", password="staff-password-123", name="Sam Staff")


@pytest.fixture
def customer_account(db) -> Account:
    return account_create(
        name="Acme Ltd",
        plan="growth",
        owner_email="owner@acme.test",
        owner_name="Olive Owner",
        billing_state=Account.BillingState.ACTIVE,
        actor=None,
    )


@pytest.fixture
def customer(customer_account) -> User:
    return customer_account.users.get()


@pytest.fixture
def other_customer(db) -> User:
    account = account_create(
        name="Other Co", plan="starter", owner_email="someone@other.test", billing_state="active", actor=None
    )
    return account.users.get()


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


# --- The demo world, seeded once per test class ------------------------------


@pytest.fixture(scope="class")
def seeded_twice(django_db_setup, django_db_blocker):
    """`seed_demo` run twice (DEBUG on, the demo admin password), once for
    all the tests of a class: what each run printed and every model's row
    count after each. The rows stay for the class's tests, inside one
    transaction rolled back after the last of them; each test's own
    transaction (pytest-django's `db`) is a savepoint within it, rolled back
    after that test, so a test that changes seeded rows changes them for
    itself only. Seeding costs a second or two of CPU a run; a class that
    uses this is marked `xdist_group` (a name of its own) so that one worker
    runs all its tests (`make test` distributes with `--dist loadgroup`). Tests that need an
    empty database or other seed options stay outside such a class."""
    import io
    from types import SimpleNamespace

    from django.apps import apps
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    def row_counts() -> dict[str, int]:
        return {model._meta.label: model._default_manager.count() for model in apps.get_models()}

    def seed() -> str:
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        return out.getvalue()

    with django_db_blocker.unblock(), override_settings(DEBUG=True):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            first = seed()
            after_first = row_counts()
            second = seed()
            yield SimpleNamespace(first=first, after_first=after_first, second=second, after_second=row_counts())
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# --- Headless Chromium -----------------------------------------------------

CHROMIUM = os.environ.get("LEVQOR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# `.ci/run` runs the suite once more under libfaketime with the clock moved
# 400+ days ahead, to prove no test depends on today's date. libfaketime
# breaks timed waits (a condition wait with a timeout returns late, Chromium's
# timers misfire), so tests that measure real waiting, and browser tests, are
# left to the two ordinary runs; they compare no dates.
CLOCK_SHIFTED = "faketime" in os.environ.get("LD_PRELOAD", "")


def pytest_collection_modifyitems(config, items):
    skips = []
    if CLOCK_SHIFTED:
        skips.append(
            (
                ("browser", "realtime"),
                pytest.mark.skip(reason="clock-shifted run: timed waits are unreliable under libfaketime"),
            )
        )
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        skips.append(
            (
                ("browser",),
                pytest.mark.skip(
                    reason=f"Chromium not found at {CHROMIUM}: install Debian's chromium to run browser tests"
                ),
            )
        )
    for item in items:
        for markers, skip in skips:
            if any(m in item.keywords for m in markers):
                item.add_marker(skip)
                break


# Tests marked `slow` (each runs for tens of seconds on a loaded machine:
# the schemathesis runs, the 100k-row export, every admin page, axe on every
# page, seeding the demo world) start first within their group: pytest-django
# orders database tests, then transactional ones, then the rest, and a stable
# sort keeps that. Started last, one of them keeps a pytest-xdist worker busy
# after the other has run out of work; started first, the many short tests
# fill in around them.
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_slow_first(items):  # pytest reads only names starting pytest_
    items.sort(key=lambda item: (_django_order(item), item.get_closest_marker("slow") is None))


def _django_order(item) -> int:
    """pytest-django's order: 0 database, 1 transactional database, 2 none."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
    if transactional or "transactional_db" in fixtures or "live_server" in fixtures:
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_xdist_groups(config, items):
    """pytest-xdist 3.8 marks an `xdist_group` by suffixing the test's node
    id (`...@group`) for `--dist loadgroup`, but sets an attribute pytest 9
    no longer reads, so the groups were silently split between workers.
    Until xdist catches up, set the suffixed id where pytest keeps it."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        names = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        if names and "@" not in item.nodeid and hasattr(item, "_id"):
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django's
    # async-safety guard would then refuse the test's own ORM calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context with JavaScript off: public pages must work without it."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def js_page(browser):
    """A fresh browser context with JavaScript on (Swagger UI, Redoc)."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
