import io
import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError

from compliance.models import AuditEvent
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_create, account_set_billing_state
from levqor.lib import banners

pytestmark = pytest.mark.django_db


def request_link(client, email, **extra):
    return client.post("/login", {"email": email, **extra})


def link_from_email(message) -> str:
    match = re.search(r"http://testserver(/login/magic\?[^\s\"<]+)", message.body)
    assert match, message.body
    return match.group(1).replace("&amp;", "&")


def test_it_emails_a_one_time_link_and_signs_in_with_it(client, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, "Owner@Acme.test")

    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@acme.test"]
    assert message.subject == "Your Levqor sign-in link"
    assert message.tags == ["magic-link"]
    html = message.alternatives[0][0]
    assert "Sign in to Levqor" in html
    link = link_from_email(message)

    # Opening the link (or a mail scanner prefetching it) does not sign in;
    # the token leaves the address bar at once.
    opened = client.get(link)
    assert opened.status_code == 302 and opened["Location"] == "/login/magic"
    confirm = client.get("/login/magic")
    assert confirm.status_code == 200
    assert customer.email in confirm.content.decode()
    assert client.get("/account").status_code == 302

    token = re.search(r"token=([^&]+)", link).group(1)
    assert token not in confirm.content.decode()
    signed_in = client.post("/login/magic")
    assert signed_in.status_code == 302 and signed_in["Location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert "Acme Ltd" in page.content.decode()
    assert AuditEvent.objects.filter(action="auth.signed_in", actor=customer).count() == 1

    # The link works once.
    client.post("/logout")
    assert client.post("/login/magic", {"token": token}).status_code == 400
    assert client.get(link).status_code == 400
    assert client.get("/account").status_code == 302


def test_it_answers_the_same_for_unknown_addresses_and_sends_nothing(client, customer, staff):
    for email in ("nobody@example.test", staff.email):
        response = request_link(client, email)
        assert response.status_code == 200
        assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_it_rejects_a_malformed_address_with_a_form_error(client, customer):
    response = request_link(client, "not-an-email")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    empty = request_link(client, "")
    assert "Enter the email address you use for Levqor." in empty.content.decode()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="auth.login_link_sent").exists()


def test_it_rejects_a_forged_or_garbage_token(client, customer):
    assert client.get("/login/magic?token=abc").status_code == 400
    assert client.get("/login/magic").status_code == 400
    response = client.post("/login/magic", {"token": "x" * 40})
    assert response.status_code == 400
    assert "no longer works" in response.content.decode()


def test_it_rejects_an_expired_link(client, customer, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, customer.email)
    token = re.search(r"token=([^&\s]+)", mail.outbox[0].body).group(1)

    from sesame import settings as sesame_settings

    settings.SESAME_MAX_AGE = -1  # already expired
    sesame_settings.load()
    try:
        assert client.post("/login/magic", {"token": token}).status_code == 400
    finally:
        settings.SESAME_MAX_AGE = 15 * 60
        sesame_settings.load()


def test_it_follows_a_safe_next_and_ignores_an_open_redirect(client, customer, django_capture_on_commit_callbacks):
    def token_for(next_url):
        mail.outbox = []
        with django_capture_on_commit_callbacks(execute=True):
            request_link(client, customer.email, next=next_url)
        return mail.outbox[0].body, re.search(r"token=([^&\s]+)", mail.outbox[0].body).group(1)

    body, token = token_for("/pricing")
    assert "next=/pricing" in body
    response = client.post("/login/magic", {"token": token, "next": "/pricing"})
    assert response["Location"] == "/pricing"
    client.post("/logout")

    body, token = token_for("https://evil.example/")
    assert "evil" not in body
    response = client.post("/login/magic", {"token": token, "next": "https://evil.example/"})
    assert response["Location"] == "/account"


def test_signed_in_pages_require_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/account")


def test_signed_in_pages_show_registered_banners(customer_client, customer):
    def paused(request):
        account = getattr(request.user, "account", None)
        if account and account.is_paused:
            yield banners.Banner("danger", "Your account is paused due to failed payments. Please update billing.")

    banners.register("test-paused", paused)
    try:
        assert "account is paused" not in customer_client.get("/account").content.decode()
        account_set_billing_state(account=customer.account, state="paused_billing", reason="test", actor=None)
        page = customer_client.get("/account").content.decode()
        assert "Your account is paused due to failed payments. Please update billing." in page
    finally:
        banners.unregister("test-paused")


def test_a_failing_banner_provider_does_not_break_the_page(customer_client):
    def broken(request):
        raise RuntimeError("provider down")

    banners.register("test-broken", broken)
    try:
        assert customer_client.get("/account").status_code == 200
    finally:
        banners.unregister("test-broken")


def test_users_log_in_by_email_and_emails_are_unique(customer):
    assert User.USERNAME_FIELD == "email"
    assert User.objects.get_by_natural_key("OWNER@ACME.TEST") == customer
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="owner@acme.test")


def test_account_plan_must_come_from_the_catalogue(staff):
    with pytest.raises(ValueError, match="Unknown plan"):
        account_create(name="X", plan="platinum", owner_email="x@x.test", actor=staff)
    assert not Account.objects.filter(name="X").exists()
    with pytest.raises(IntegrityError):
        Account.objects.create(name="Y", plan="platinum")


def test_account_creation_starts_a_trial_and_is_audited(staff):
    account = account_create(name="Trial Co", plan="pro", owner_email="t@trial.test", actor=staff)
    assert account.billing_state == "trialing"
    assert abs(account.trial_ends_at - account.created_at - timedelta(days=7)) < timedelta(seconds=5)
    event = AuditEvent.objects.get(action="account.created", target_id=str(account.pk))
    assert event.actor == staff and event.details["plan"] == "pro"


def test_billing_state_change_is_audited_once(customer):
    account = customer.account
    assert account_set_billing_state(account=account, state="paused_billing", reason="non-payment", actor=None)
    assert not account_set_billing_state(account=account, state="paused_billing", reason="non-payment", actor=None)
    account.refresh_from_db()
    assert account.is_paused
    events = AuditEvent.objects.filter(action="account.billing_state_changed", target_id=str(account.pk))
    assert events.count() == 1
    assert events.get().details == {"from": "active", "to": "paused_billing", "reason": "non-payment"}
    with pytest.raises(ValueError):
        account_set_billing_state(account=account, state="frozen", reason="", actor=None)


def test_it_echoes_a_safe_request_id_and_replaces_an_unsafe_one(client):
    assert client.get("/pricing", HTTP_X_REQUEST_ID="abc-12345678")["X-Request-ID"] == "abc-12345678"
    replaced = client.get("/pricing", HTTP_X_REQUEST_ID="bad id\r\ninjected")["X-Request-ID"]
    assert replaced != "bad id\r\ninjected" and re.fullmatch(r"[0-9a-f]{32}", replaced)


def sign_in_link(client, email, capture, **extra) -> str:
    mail.outbox = []
    with capture(execute=True):
        request_link(client, email, **extra)
    return link_from_email(mail.outbox[0])


def test_it_never_puts_the_token_in_a_page_form_or_next(client, customer, django_capture_on_commit_callbacks):
    link = sign_in_link(client, customer.email, django_capture_on_commit_callbacks, next="/pricing")
    token = re.search(r"token=([^&]+)", link).group(1)

    client.get(link)
    confirm = client.get("/login/magic")
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Sign in to Levqor" in page
    assert token not in page  # not in the form, not in the cookie banner's next
    assert 'name="next" value="/login/magic"' in page  # the banner returns to the bare page

    # A cookie choice made on that page comes back to a working sign-in button.
    choice = client.post("/cookies/consent", {"choice": "reject_all", "next": "/login/magic"})
    assert choice.status_code == 302 and choice["Location"] == "/login/magic"
    again = client.get("/login/magic")
    assert again.status_code == 200 and customer.email in again.content.decode()
    signed_in = client.post("/login/magic")
    assert signed_in["Location"] == "/pricing"  # the next chosen at /login survives


def test_it_drops_a_sign_in_token_from_any_next(client, customer, django_capture_on_commit_callbacks):
    # The cookie banner on a page opened with a token in its address.
    page = client.get("/pricing?token=abc.secret&plan=pro").content.decode()
    assert "abc.secret" not in page
    assert 'name="next" value="/pricing?plan=pro"' in page
    # A consent form posted with such a next goes back without the token.
    response = client.post("/cookies/consent", {"choice": "accept_all", "next": "/pricing?token=abc.secret"})
    assert response["Location"] == "/pricing"
    # A next pointing at a sign-in link is not carried into the emailed link.
    link = sign_in_link(
        client, customer.email, django_capture_on_commit_callbacks, next="/login/magic?token=abc.secret"
    )
    assert "abc.secret" not in link and "next=" not in link


def test_it_shows_a_clear_page_for_a_spent_link_warns_once_and_counts_a_failed_sign_in(
    client, customer, django_capture_on_commit_callbacks, caplog
):
    from axes.models import AccessFailureLog

    link = sign_in_link(client, customer.email, django_capture_on_commit_callbacks)
    token = re.search(r"token=([^&]+)", link).group(1)
    client.get(link)
    assert client.post("/login/magic").status_code == 302
    client.post("/logout")

    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        spent = client.get(link)
    assert spent.status_code == 400
    page = spent.content.decode()
    assert "This sign-in link no longer works" in page and "Email me a new sign-in link" in page
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(r.levelno == logging.WARNING and "sign-in link did not work" in r.getMessage() for r in caplog.records)
    assert not any(token in r.getMessage() for r in caplog.records)
    assert AccessFailureLog.objects.count() == 1

    # Posting it (a client that sends the token itself) counts once more, still no ERROR.
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert client.post("/login/magic", {"token": token}).status_code == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert AccessFailureLog.objects.count() == 2


def test_it_redacts_sign_in_tokens_from_log_lines():
    # The console handler every logger writes through (settings.LOGGING), into a buffer.
    from levqor.lib.logging import RedactSecretsFilter

    (handler,) = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        logging.getLogger("django.server").info('"GET /login/magic?token=abc.SECRET123&next=/x HTTP/1.1" 302 0')
        logging.getLogger("levqor.test").warning("opened %s", "/login/magic?sesame=zzzSECRET")
    finally:
        handler.setStream(previous)
    written = buffer.getvalue()
    assert "SECRET" not in written
    assert "token=[redacted]&next=/x" in written and "sesame=[redacted]" in written
