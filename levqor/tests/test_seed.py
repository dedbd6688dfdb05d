import re

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from compliance import audit
from levqor import plans
from levqor.accounts.models import Account, User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.mark.xdist_group("seed-twice")
class TestTwoRuns:
    """One demo world seeded twice for these tests (conftest's `seeded_twice`)."""

    def test_it_seeds_every_plan_and_billing_state_once(self, seeded_twice):
        first = seeded_twice.after_first
        assert (first["accounts.Account"], first["accounts.User"]) == (
            Account.objects.count(),
            User.objects.count(),
        )
        assert "0 accounts created" in seeded_twice.second
        assert {a.plan for a in Account.objects.all()} == {p.code for p in plans.PLANS}
        assert set(Account.objects.values_list("billing_state", flat=True)) == set(Account.BillingState.values)
        admin = User.objects.get(email="admin@levqor.local")
        assert admin.is_superuser and admin.is_staff and admin.account is None
        assert "Admin login: admin@levqor.local / levqor-demo-admin" in seeded_twice.first
        assert admin.check_password("levqor-demo-admin")
        assert audit.verify().ok

    def test_it_creates_nothing_of_any_kind_the_second_time(self, seeded_twice):
        """Every model of every app (workflows, keys, audit entries, dunning
        cases, incidents, credits, exports...): the second run adds no row."""
        after_first, after_second = seeded_twice.after_first, seeded_twice.after_second
        assert set(after_first) == {model._meta.label for model in apps.get_models()}
        grown = {
            label: (after_first[label], after_second[label])
            for label in after_first
            if after_first[label] != after_second[label]
        }
        assert grown == {}
        # The first run reports what it made, per kind; the second says nothing was made.
        first, again = seeded_twice.first, seeded_twice.second
        workflows = after_first["workflows.Workflow"]
        assert workflows > 0 and f"workflows.Workflow: {workflows} created" in first
        assert f"api.ApiKey: {after_first['api.ApiKey']} created" in first
        assert "Demo world ready: 0 created in total." in again
        assert re.findall(r"^  (\S+): \d+ created$", again, flags=re.MULTILINE) == []

    def test_it_fills_the_status_page_once(self, seeded_twice, client):
        labels = ("status.Component", "status.Snapshot", "status.DailyRollup", "status.Incident", "status.Maintenance")
        counts = [seeded_twice.after_first[label] for label in labels]
        assert [seeded_twice.after_second[label] for label in labels] == counts
        assert counts[0] == 8 and counts[3] == 3 and counts[4] == 2
        page = client.get("/status").content.decode()
        assert page.count('<rect class="bar"') == 7 * 90
        assert "no data</title>" not in page.split('data-component="web"')[1].split("bar-legend")[0]

    def test_it_gives_every_writable_demo_account_its_workflows_and_every_account_a_sandbox_key(self, seeded_twice):
        from levqor.api.models import ApiKey
        from levqor.workflows.models import Workflow

        for account in Account.objects.all():
            assert ApiKey.objects.filter(account=account, name="Demo sandbox key").count() == 1, account.name
            if account.billing_state not in ("paused_billing", "canceled"):
                names = set(Workflow.objects.filter(account=account).values_list("name", flat=True))
                assert names == {"Lead intake", "Lead intake (sandbox)", "Invoice reminder"}, account.name


def test_it_takes_admin_credentials_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("LEVQOR_ADMIN_EMAIL", "Ops@Example.test")
    monkeypatch.setenv("LEVQOR_ADMIN_PASSWORD", "a-strong-password-42")
    call_command("seed_demo")
    assert "Admin login: ops@example.test / a-strong-password-42" in capsys.readouterr().out
    assert User.objects.get(email="ops@example.test").check_password("a-strong-password-42")


def test_it_refuses_the_demo_password_without_debug(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("LEVQOR_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="LEVQOR_ADMIN_PASSWORD"):
        call_command("seed_demo")
    assert not User.objects.exists()
