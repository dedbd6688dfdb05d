"""SLA credit requests: the page, eligibility, measured downtime, decisions,
emails, and the Stripe credit applied exactly once (over real HTTP to the
fake Stripe API)."""

from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent, OutboundEmail
from compliance.outbox.services import email_deliver, emails_retry_due
from levqor.accounts.models import Account
from levqor.accounts.services import account_set_billing_state
from status import services as status_services
from status.models import Component, ExternalContact, Snapshot, State
from support import rules, selectors, services
from support.models import SlaCreditRequest
from support.services import common

pytestmark = pytest.mark.django_db

URL = "/sla-credits"


def today():
    return timezone.now().astimezone(UTC).date()


def last_month() -> str:
    return rules.add_months(today().replace(day=1), -1).strftime("%Y-%m")


def form(**changes) -> dict:
    data = {
        "plan": "growth",
        "period_kind": "month",
        "month": last_month(),
        "impact": "major",
        "description": "The console was down for an afternoon.",
    }
    data.update(changes)
    return data


def file_request(account, user, **changes) -> SlaCreditRequest:
    period = rules.month_period(rules.add_months(today().replace(day=1), -1))
    values = {"plan": account.plan, "period": period, "impact": "major", "description": "Down.", **changes}
    return services.sla_request_file(account=account, user=user, actor=user, **values)


def outage(day, minutes: int) -> None:
    """The web (critical) down for `minutes` on `day`, in raw snapshots."""
    status_services.components_ensure()
    web = Component.objects.get(slug="web")
    start = timezone.datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    Snapshot.objects.bulk_create(
        Snapshot(component=web, taken_at=start + timedelta(minutes=5 * n), state=State.DOWN)
        for n in range(minutes // 5)
    )
    status_services.rollup_hours(start=start, end=start + timedelta(minutes=minutes))


def sent(template: str) -> list:
    return [m for m in mail.outbox if template in m.tags]


# --- The page ------------------------------------------------------------------------


def test_it_explains_the_sla_and_shows_the_plan_from_the_account(customer_client):
    response = customer_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "When credits apply" in html and "Claim window" in html and "end of the second month after it" in html
    assert '<p class="readonly" id="plan-value">Growth</p>' in html
    assert 'name="plan"' not in html  # the fee comes from the account: nothing to edit
    assert "below 99.9%" in html


def test_it_offers_the_months_of_the_claim_window_by_name(customer_client):
    form = customer_client.get(URL).context["form"]
    this_month = today().replace(day=1)
    offered = [value for value, _label in form.fields["month"].widget.choices if value]
    assert offered == [rules.add_months(this_month, -n).strftime("%Y-%m") for n in range(3)]
    assert dict(form.fields["month"].widget.choices)[offered[1]] == rules.add_months(this_month, -1).strftime("%B %Y")


def test_it_ignores_a_plan_posted_by_hand(customer_client):
    assert customer_client.post(URL, form(plan="business")).status_code == 302
    assert SlaCreditRequest.objects.get().plan == "growth"


def test_it_reads_the_incident_date_as_dd_mm_yyyy(customer_client):
    day = today() - timedelta(days=2)
    response = customer_client.post(URL, form(period_kind="day", month="", incident_date=day.strftime("%d/%m/%Y")))
    assert response.status_code == 302
    assert SlaCreditRequest.objects.get().period_start == day


def test_it_ignores_the_field_that_does_not_apply(customer_client):
    response = customer_client.post(URL, form(incident_date="not a date"))
    assert response.status_code == 302
    assert SlaCreditRequest.objects.get().period_kind == "month"


def test_it_shows_a_bad_date_beside_its_field(customer_client):
    response = customer_client.post(URL, form(period_kind="day", month="", incident_date="31/02/2026"))
    html = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="id_incident_date_error">Enter a real date as dd/mm/yyyy' in html
    assert 'aria-describedby="id_incident_date_helptext id_incident_date_error"' in html


def test_it_requires_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_it_files_a_request_with_its_measured_downtime(customer_client, customer, django_capture_on_commit_callbacks):
    day = rules.add_months(today().replace(day=1), -1) + timedelta(days=4)
    outage(day, 60)
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(URL, form())
    request = SlaCreditRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "support:sla_credit_detail", args=[request.pk]
    )
    assert request.account == customer.account and request.user == customer
    assert request.status == "pending" and request.period_kind == "month"
    assert request.measured_downtime_seconds == 3600
    assert request.measured_uptime_percent < 100
    assert request.measurement["resolution"] in {"snapshots", "hourly"}
    assert request.monthly_fee_minor == 2900  # Growth, monthly
    assert request.suggested_credit_minor == 2900 * 10 // 100  # one hour in a month: below 99.9 %
    assert AuditEvent.objects.filter(action="support.sla_credit.filed", target_id=str(request.pk)).count() == 1
    assert len(sent("support-sla-credit-received")) == 1
    assert sent("support-sla-credit-received")[0].to == ["support@levqor.local"]
    page = customer_client.get(URL).content.decode()
    assert f"#{request.pk}" in page and "Pending" in page


def test_it_sends_the_customer_a_receipt_with_the_reference_once(
    customer_client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(URL, form())
    request = SlaCreditRequest.objects.get()
    receipts = sent("support-sla-credit-receipt")
    assert len(receipts) == 1 and receipts[0].to == [customer.email]
    assert receipts[0].subject == f"We have your SLA credit request #{request.pk}"
    assert f"reference is #{request.pk}" in receipts[0].body
    assert reverse("support:sla_credit_detail", args=[request.pk]) in receipts[0].body
    # The outbox row is the claim: queuing the receipt again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert not common._email(template="support-sla-credit-receipt", about=request, to=customer.email, context={})
    assert len(sent("support-sla-credit-receipt")) == 1
    assert OutboundEmail.objects.filter(kind="support.sla-credit-receipt", about_id=str(request.pk)).count() == 1


def test_it_files_an_incident_date_with_an_attachment_stored_privately(customer_client, customer, settings):
    upload = SimpleUploadedFile("errors.pdf", b"%PDF-1.4 evidence", content_type="application/pdf")
    response = customer_client.post(
        URL, form(period_kind="day", month="", incident_date=str(today() - timedelta(days=2)), attachment=upload)
    )
    assert response.status_code == 302
    request = SlaCreditRequest.objects.get()
    assert request.period_start == request.period_end == today() - timedelta(days=2)
    assert request.attachment_name == "errors.pdf" and request.attachment_type == "application/pdf"
    assert "errors" not in request.attachment.name  # a random private name
    assert not settings.STORAGES["default"].get("OPTIONS", {}).get("base_url")
    download = customer_client.get(reverse("support:sla_credit_attachment", args=[request.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 evidence"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"month": "2099-01"}, "month", "in the future"),
        ({"month": "2020-01"}, "month", "accepted until"),
        ({"period_kind": "day", "month": "", "incident_date": "2099-01-01"}, "incident_date", "in the future"),
        ({"description": ""}, "description", "required"),
        ({"impact": ""}, "impact", "required"),
        ({"impact": "apocalyptic"}, "impact", "valid choice"),
        ({"month": ""}, "month", "Enter the month"),
        ({"period_kind": "day", "month": "", "incident_date": ""}, "incident_date", "date of the incident"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_error_and_no_row(customer_client, changes, field, message):
    response = customer_client.post(URL, form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SlaCreditRequest.objects.exists()
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("huge.pdf", b"%PDF-" + b"x" * 2048, "too large"),
        ("virus.exe", b"MZ\x90\x00", "not accepted"),
        ("fake.pdf", b"<html>not a pdf</html>", "not a PDF"),
        ("binary.txt", b"abc\x00def", "plain UTF-8"),
    ],
)
def test_it_refuses_bad_attachments_and_stores_nothing(customer_client, settings, name, content, message, tmp_path):
    settings.LEVQOR_SUPPORT_ATTACHMENT_MAX_BYTES = 1024
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    response = customer_client.post(URL, form(attachment=SimpleUploadedFile(name, content)))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SlaCreditRequest.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_it_allows_one_open_request_per_period(customer_client, customer):
    file_request(customer.account, customer)
    response = customer_client.post(
        URL, form(period_kind="day", month="", incident_date=str(rules.add_months(today().replace(day=1), -1)))
    )
    assert response.status_code == 400
    assert "one open request per period" in response.content.decode()
    assert SlaCreditRequest.objects.count() == 1


def test_it_allows_a_new_request_once_the_first_is_decided(customer, staff):
    first = file_request(customer.account, customer)
    services.sla_request_decide(request=first, status="rejected", actor=staff)
    assert file_request(customer.account, customer).pk != first.pk


def test_it_refuses_a_trial_account_and_accepts_a_recently_canceled_one(customer, staff):
    account = customer.account
    Account.objects.filter(pk=account.pk).update(billing_state="trialing")
    account.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        file_request(account, customer)
    assert "paid subscription" in str(refused.value)
    Account.objects.filter(pk=account.pk).update(billing_state="active")
    account.refresh_from_db()
    account_set_billing_state(account=account, state="canceled", reason="test", actor=staff)
    assert file_request(account, customer).status == "pending"


def test_it_refuses_an_account_that_paid_only_after_the_period_then_canceled(customer, staff):
    account = customer.account
    Account.objects.filter(pk=account.pk).update(billing_state="trialing")
    account.refresh_from_db()
    # Trialing through last month; started paying only now, then canceled.
    account_set_billing_state(account=account, state="active", reason="first payment", actor=staff)
    account_set_billing_state(account=account, state="canceled", reason="canceled", actor=staff)
    with pytest.raises(ValidationError) as refused:
        file_request(account, customer)
    assert "paid subscription that was active during the claimed period" in str(refused.value)
    assert not SlaCreditRequest.objects.exists()
    # The same history does cover today, when it was paying for a moment.
    assert file_request(account, customer, period=rules.day_period(today())).status == "pending"


def test_it_refuses_a_period_that_starts_after_the_account_canceled(customer, staff):
    account = customer.account
    account_set_billing_state(account=account, state="canceled", reason="canceled", actor=staff)
    next_month = rules.month_period(rules.add_months(today().replace(day=1), 1))
    later = timezone.datetime.combine(next_month.end, timezone.datetime.min.time(), tzinfo=UTC) + timedelta(days=5)
    values = {"plan": account.plan, "period": next_month, "impact": "major", "description": "Down."}
    with pytest.raises(ValidationError) as refused:
        services.sla_request_file(account=account, user=customer, actor=customer, now=later, **values)
    assert "paid subscription" in str(refused.value)
    assert not SlaCreditRequest.objects.exists()
    # Resubscribed before that month started: paying through it, so covered.
    account_set_billing_state(account=account, state="active", reason="resubscribed", actor=staff)
    assert selectors.account_paying_during(account=account, start=next_month.start_at, end=next_month.end_at)
    assert services.sla_request_file(account=account, user=customer, actor=customer, now=later, **values).pk


def test_it_suggests_credits_from_the_tier_table_capped_at_the_fee():
    assert rules.credit_percent(99.95) == 0
    assert rules.credit_percent(99.5) == 10
    assert rules.credit_percent(98) == 25
    assert rules.credit_percent(90) == 50
    assert rules.suggested_credit_minor(uptime_percent=90, fee_minor=2900) == 1450
    assert rules.suggested_credit_minor(uptime_percent=90, fee_minor=2900, already_credited_minor=2000) == 900
    assert rules.monthly_fee_minor(plan="pro", interval="yearly") == 59000 // 12
    assert str(rules.claim_deadline(rules.month_period(timezone.datetime(2026, 3, 1).date()))) == "2026-05-31"


# --- Decisions, emails and the Stripe credit ------------------------------------------------------


def test_it_applies_the_credit_once_when_the_decision_is_saved_twice(
    customer, staff, stripe_customer, fake_stripe, django_capture_on_commit_callbacks
):
    request = file_request(customer.account, customer)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.sla_request_decide(
                request=request, status="approved", credit_amount_minor=725, notes_to_customer="Sorry.", actor=staff
            )
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.stripe_credit_id.startswith("cbtxn_")
    assert len(fake_stripe.credits_posted()) == 1
    txn = fake_stripe.balance_transactions[stripe_customer][0]
    assert txn["amount"] == -725 and txn["currency"] == "gbp"
    assert txn["metadata"]["levqor_idempotency_key"] == f"levqor-sla-credit-{request.pk}"
    assert len(sent("support-sla-credit-decision")) == 1
    email = sent("support-sla-credit-decision")[0]
    assert email.to == ["owner@acme.test"] and "£7.25" in email.body and "Sorry." in email.body
    assert AuditEvent.objects.filter(action="support.sla_credit.credited").count() == 1
    assert ExternalContact.objects.get(name="stripe").ok  # the status page saw Stripe answer
    # A task run again (another worker, a retry) does nothing.
    assert services.sla_credit_apply(request_id=request.pk) is None
    assert len(fake_stripe.credits_posted()) == 1


def test_it_finds_the_first_credit_when_a_worker_died_after_calling_stripe(
    customer, staff, stripe_customer, fake_stripe
):
    request = file_request(customer.account, customer)
    services.sla_request_decide(request=request, status="approved", credit_amount_minor=500, actor=staff)
    first = services.sla_credit_apply(request_id=request.pk)
    # Simulate the crash: the reference was never stored and the claim lapsed.
    SlaCreditRequest.objects.filter(pk=request.pk).update(
        stripe_credit_id="", credit_state="pending", credit_claimed_at=timezone.now() - timedelta(hours=1)
    )
    fake_stripe.idempotent.clear()  # past Stripe's 24-hour idempotency window
    assert services.sla_credit_apply(request_id=request.pk) == first
    assert len(fake_stripe.credits_posted()) == 1


def test_it_keeps_a_failed_credit_for_staff_and_retries_it(customer, staff, stripe_customer, fake_stripe):
    request = file_request(customer.account, customer)
    services.sla_request_decide(request=request, status="approved", credit_amount_minor=500, actor=staff)
    fake_stripe.fail_next_credit = 1
    now = timezone.now()
    assert services.sla_credit_apply(request_id=request.pk, now=now) is None
    request.refresh_from_db()
    assert "fake_outage" in request.credit_error and not request.stripe_credit_id
    assert request.credit_state == "retrying" and request.credit_next_attempt_at == now + timedelta(minutes=5)
    assert services.sla_credit_apply(request_id=request.pk, now=now + timedelta(minutes=1)) is None  # not due yet
    assert services.sla_credit_apply(request_id=request.pk, now=now + timedelta(minutes=5)).startswith("cbtxn_")
    request.refresh_from_db()
    assert request.credit_error == "" and len(fake_stripe.balance_transactions[stripe_customer]) == 1
    assert request.credit_state == "applied"


def test_it_refuses_decisions_that_break_the_rules(customer, staff, stripe_customer):
    request = file_request(customer.account, customer)
    with pytest.raises(Exception, match="capped at one month's fee"):
        services.sla_request_decide(request=request, status="approved", credit_amount_minor=2901, actor=staff)
    with pytest.raises(Exception, match="Decide needs-more-info"):
        services.sla_request_decide(request=request, status="pending", actor=staff)
    services.sla_request_decide(request=request, status="approved", credit_amount_minor=100, actor=staff)
    with pytest.raises(Exception, match="credit is fixed"):
        services.sla_request_decide(request=request, status="rejected", actor=staff)
    request.refresh_from_db()
    assert request.status == "approved" and request.credit_amount_minor == 100


def test_it_refuses_a_credit_for_an_account_without_a_stripe_customer(customer, staff):
    request = file_request(customer.account, customer)
    with pytest.raises(Exception, match="no Stripe customer"):
        services.sla_request_decide(request=request, status="approved", credit_amount_minor=100, actor=staff)
    assert services.sla_request_decide(request=request, status="approved", credit_amount_minor=0, actor=staff)


def test_it_lets_the_customer_add_information_when_asked(
    customer_client, customer, staff, django_capture_on_commit_callbacks
):
    request = file_request(customer.account, customer)
    url = reverse("support:sla_credit_detail", args=[request.pk])
    refused = customer_client.post(url, {"body": "Here are the run ids."})
    assert refused.status_code == 400 and "has not asked" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.sla_request_decide(
            request=request, status="needs-more-info", notes_to_customer="Which runs failed?", actor=staff
        )
    page = customer_client.get(url).content.decode()
    assert "Which runs failed?" in page and "Add the information" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(url, {"body": "Runs 12 and 13."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "pending" and request.messages.get().body == "Runs 12 and 13."
    assert len(sent("support-sla-credit-decision")) == 1
    assert len(sent("support-sla-credit-info-added")) == 1
    assert customer_client.post(url, {"body": ""}).status_code == 400


def test_it_emails_the_customer_every_decision_once(customer, staff, django_capture_on_commit_callbacks):
    request = file_request(customer.account, customer)
    with django_capture_on_commit_callbacks(execute=True):
        services.sla_request_decide(request=request, status="needs-more-info", notes_to_customer="More?", actor=staff)
        services.sla_request_decide(request=request, status="needs-more-info", notes_to_customer="More?", actor=staff)
        services.sla_request_decide(request=request, status="rejected", notes_to_customer="No outage.", actor=staff)
    assert [m.subject for m in sent("support-sla-credit-decision")] == [
        f"Your SLA credit request #{request.pk}: Needs more info",
        f"Your SLA credit request #{request.pk}: Rejected",
    ]
    for email in OutboundEmail.objects.filter(kind="support.sla-credit-decision"):
        assert email_deliver(email_id=email.pk) is False  # already sent: a retry sends nothing
    assert len(sent("support-sla-credit-decision")) == 2


def test_it_sends_a_decision_email_once_when_it_is_delivered_twice(customer, staff):
    request = file_request(customer.account, customer)
    # Nothing runs after commit here: the queue's task and the outbox's sweep both deliver it.
    services.sla_request_decide(request=request, status="rejected", notes_to_customer="No outage.", actor=staff)
    email = OutboundEmail.objects.get(kind="support.sla-credit-decision")
    assert email.about_key == f"support.slacreditrequest:{request.pk}" and email.stage.startswith("rejected:")
    assert email_deliver(email_id=email.pk) is True
    assert email_deliver(email_id=email.pk) is False
    assert emails_retry_due() == 2  # only the filing emails (to support, the receipt) were still waiting
    [message] = sent("support-sla-credit-decision")
    assert message.to == [customer.email] and "No outage." in message.body
    assert message.extra_headers["Idempotency-Key"] == f"levqor-email-{email.pk}"
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 1


# --- Another customer -------------------------------------------------------------------------


def test_it_shows_another_customer_a_404_on_every_page(client, customer, other_customer):
    upload = SimpleUploadedFile("log.txt", b"error at 10:02")
    request = file_request(customer.account, customer, attachment=upload)
    urls = (
        reverse("support:sla_credit_detail", args=[request.pk]),
        reverse("support:sla_credit_attachment", args=[request.pk]),
    )
    # The owner sees the request on every page, so the checks below can fail.
    client.force_login(customer)
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert urls[0] in client.get(URL).content.decode()
    client.force_login(other_customer)
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"body": "mine now"}).status_code in (404, 405), url
    page = client.get(URL).content.decode()
    assert urls[0] not in page and "No requests yet." in page
    assert not request.messages.exists()


def test_it_serves_attachments_to_staff(staff_client, customer):
    request = file_request(customer.account, customer, attachment=SimpleUploadedFile("log.csv", b"a,b\n1,2\n"))
    response = staff_client.get(reverse("support:sla_credit_attachment", args=[request.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
