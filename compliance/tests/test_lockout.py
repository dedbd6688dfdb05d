"""Failed sign-in lockout: 5 failures within 10 minutes lock the client out
for 15 minutes (django-axes with compliance.lockout's window). Time travel
moves the stored failure times back, never mocks our code."""

import logging
from datetime import timedelta

import pytest
from axes.models import AccessFailureLog
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


def admin_login(client, email, password):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password})


def move_failures_back(minutes: float) -> None:
    for log in AccessFailureLog.objects.all():
        AccessFailureLog.objects.filter(pk=log.pk).update(attempt_time=log.attempt_time - timedelta(minutes=minutes))


def test_it_locks_staff_out_after_5_wrong_passwords_and_releases_after_15_minutes(client, staff):
    for _ in range(4):
        assert admin_login(client, staff.email, "wrong").status_code == 200  # form error, not yet locked
    fifth = admin_login(client, staff.email, "wrong")
    assert fifth.status_code == 429
    assert "Too many sign-in attempts" in fifth.content.decode()

    # Locked: even the right password is refused.
    assert admin_login(client, staff.email, "staff-password-123").status_code == 429
    assert AccessFailureLog.objects.count() == 5  # attempts while locked do not extend the lockout

    move_failures_back(14)
    assert admin_login(client, staff.email, "staff-password-123").status_code == 429
    move_failures_back(1.1)
    ok = admin_login(client, staff.email, "staff-password-123")
    assert ok.status_code == 302 and ok["Location"] == "/admin/"


def test_failures_spread_over_more_than_10_minutes_do_not_lock(client, staff):
    for _ in range(4):
        admin_login(client, staff.email, "wrong")
    move_failures_back(10.5)
    for _ in range(4):
        assert admin_login(client, staff.email, "wrong").status_code == 200
    assert admin_login(client, staff.email, "staff-password-123").status_code == 302


def test_the_lock_follows_the_account_across_addresses(staff):
    for i in range(5):
        admin_login(Client(REMOTE_ADDR=f"198.51.100.{i}"), staff.email, "wrong")
    assert admin_login(Client(REMOTE_ADDR="203.0.113.50"), staff.email, "staff-password-123").status_code == 429


def test_customers_are_locked_out_after_5_failed_sign_in_links(client, customer, django_capture_on_commit_callbacks):
    for _ in range(4):
        assert client.post("/login/magic", {"token": "forged-token-value"}).status_code == 400
    assert client.post("/login/magic", {"token": "forged-token-value"}).status_code == 429

    # The request form is locked too: no link is sent, even to a real customer.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/login", {"email": customer.email})
    assert response.status_code == 429
    assert mail.outbox == []

    move_failures_back(15.1)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/login", {"email": customer.email}).status_code == 200
    assert len(mail.outbox) == 1


def test_link_requests_never_reveal_which_addresses_are_customers(client, customer, django_capture_on_commit_callbacks):
    """Known and unknown addresses get the same answer however often they
    are asked for (up to the per-IP rate limit): no lockout side channel."""
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(6):
            answers.append(client.post("/login", {"email": f"nobody{i}@example.test"}).status_code)
            answers.append(Client(REMOTE_ADDR="192.0.2.77").post("/login", {"email": customer.email}).status_code)
    assert set(answers) == {200}
    assert len(mail.outbox) == 6  # links went to the real customer only


def test_lockout_logs_name_no_email_or_ip(client, staff, caplog):
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            admin_login(client, staff.email, "wrong")
            client.post("/login/magic", {"token": "someone.private-forged"})
    text = caplog.text
    assert "Locking out" in text or "sign-in failure" in text
    assert staff.email not in text
    assert "someone.private" not in text
    assert "127.0.0.1" not in text


def test_staff_can_see_lockouts_from_the_admin_index(client, staff, staff_client):
    locked = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(5):
        admin_login(locked, "intruder@example.test", "guess")
    page = staff_client.get("/admin/").content.decode()
    assert "Sign-in lockouts in force" in page
    assert staff_client.get("/admin/axes/accessfailurelog/?locked_out__exact=1").status_code == 200


def test_staff_can_lift_a_lockout_with_axes_reset(client, staff):
    from django.core.management import call_command

    for _ in range(5):
        admin_login(client, staff.email, "wrong")
    assert admin_login(client, staff.email, "staff-password-123").status_code == 429
    call_command("axes_reset_username", staff.email)
    call_command("axes_reset_ip", "127.0.0.1")
    assert admin_login(client, staff.email, "staff-password-123").status_code == 302
