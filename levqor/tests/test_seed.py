import pytest
from django.core.management import CommandError, call_command

from compliance import audit
from levqor import plans
from levqor.accounts.models import Account, User

pytestmark = pytest.mark.django_db


def test_it_seeds_every_plan_and_billing_state_once(capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    counts = (Account.objects.count(), User.objects.count())

    call_command("seed_demo")
    again = capsys.readouterr().out

    assert (Account.objects.count(), User.objects.count()) == counts
    assert "0 accounts created" in again
    assert {a.plan for a in Account.objects.all()} == {p.code for p in plans.PLANS}
    assert set(Account.objects.values_list("billing_state", flat=True)) == set(Account.BillingState.values)
    admin = User.objects.get(email="admin@levqor.local")
    assert admin.is_superuser and admin.is_staff and admin.account is None
    assert "Admin login: admin@levqor.local / levqor-demo-admin" in out
    assert admin.check_password("levqor-demo-admin")
    assert audit.verify().ok


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
