"""DSAR exports: the 30-day limit, due dates, the ZIP and its manifest,
isolation between people, the build task, the signed link and download."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail, signing
from django.core.files.storage import default_storage
from django.utils import timezone

from compliance import audit
from compliance.dsar import deadlines, exports, providers
from compliance.dsar.models import DataExport, add_months
from compliance.models import AuditEvent

from .helpers import (
    link_path,
    make_product_data,
    open_zip,
    request_and_build,
    rows,
    verify_manifest,
)

pytestmark = pytest.mark.django_db


# --- due dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 1, 15), date(2026, 2, 15)),
        (date(2026, 12, 31), date(2027, 1, 31)),
        (date(2026, 2, 28), date(2026, 3, 28)),
    ],
)
def test_it_sets_the_due_date_one_calendar_month_after_receipt(received, due):
    assert deadlines.due_date(received) == due


def test_it_extends_month_by_month_from_receipt_not_from_the_clamped_date():
    assert add_months(date(2026, 1, 31), 3) == date(2026, 4, 30)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)


def test_it_records_the_due_date_in_uk_time(customer, django_capture_on_commit_callbacks):
    # 23:30 UTC on 31 Jan is still 31 Jan in London (GMT); due 28 Feb.
    received = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=False):
        export = exports.export_request(user=customer, via="web", actor=customer, now=received)
    assert export.due_on == date(2026, 2, 28)
    # 23:30 UTC on 30 April is already 1 May in London (BST); due 1 June.
    with django_capture_on_commit_callbacks(execute=False):
        export = exports.export_request(
            user=customer, via="web", actor=customer, now=datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
        )
    assert export.due_on == date(2026, 6, 1)


# --- the 30-day limit ------------------------------------------------------------------


def test_it_allows_one_export_per_30_days(customer, django_capture_on_commit_callbacks):
    first = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    with pytest.raises(exports.ExportTooSoon) as caught:
        exports.export_request(user=customer, via="web", actor=customer)
    next_allowed = first.requested_at + timedelta(days=30)
    assert caught.value.next_allowed_at == next_allowed
    assert f"{timezone.localtime(next_allowed):%B %Y}" in caught.value.messages[0]
    assert DataExport.objects.filter(user=customer).count() == 1

    DataExport.objects.filter(pk=first.pk).update(requested_at=timezone.now() - timedelta(days=30, seconds=1))
    with django_capture_on_commit_callbacks(execute=False):
        exports.export_request(user=customer, via="web", actor=customer)
    assert DataExport.objects.filter(user=customer).count() == 2


def test_it_does_not_count_a_failed_export_against_the_limit(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        export = exports.export_request(user=customer, via="web", actor=customer)
    DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=False):
        exports.export_request(user=customer, via="web", actor=customer)


def test_it_shows_the_next_allowed_date_on_the_page(customer_client, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/data-requests/export", follow=True)
    assert "We are preparing your data export" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/data-requests/export", follow=True)
    page = response.content.decode()
    next_allowed = timezone.localtime(DataExport.objects.get(user=customer).requested_at + timedelta(days=30))
    assert "You can request one data export every 30 days" in page
    assert f"{next_allowed.day} {next_allowed:%B %Y}" in page
    assert "Request my data" not in page  # the button is replaced by the date
    assert DataExport.objects.filter(user=customer).count() == 1


# --- the ZIP ---------------------------------------------------------------------------


def test_it_builds_a_zip_with_every_file_and_a_manifest_that_verifies(customer, django_capture_on_commit_callbacks):
    make_product_data(customer, tag="Mine", logs=5)
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)

    assert export.status == DataExport.Status.READY
    assert export.completed_at and export.link_expires_at > timezone.now() + timedelta(days=6)
    archive = open_zip(export)
    assert set(archive.namelist()) == {*exports.EXPORT_FILES, "README.txt", "manifest.json"}
    manifest = verify_manifest(archive)
    assert manifest["files"]["logs.json"]["rows"] == 5
    assert manifest["files"]["workflows.json"]["rows"] == 1
    assert rows(archive, "user.json")[0]["email"] == customer.email
    assert rows(archive, "runs.json")[0]["payload"] == {"customer": "Mine payload"}
    # logs.json holds the non-sensitive fields only
    assert set(rows(archive, "logs.json")[0]) == {"run_id", "seq", "at", "level", "step", "message"}
    assert "Mine-internal-data" not in archive.read("logs.json").decode()
    assert {r["action"] for r in rows(archive, "audit.json")} >= {"dsar.export_requested"}
    readme = archive.read("README.txt").decode()
    assert "logs.json" in readme and "Information Commissioner" in readme
    assert export.manifest["files"]["logs.json"]["sha256"] == manifest["files"]["logs.json"]["sha256"]


def test_it_never_puts_another_persons_data_in_the_zip(customer, other_customer, django_capture_on_commit_callbacks):
    make_product_data(customer, tag="Mine")
    make_product_data(other_customer, tag="Theirs")
    audit.record(actor=other_customer, action="test.other", target=other_customer, details={"note": "Theirs"})
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)

    archive = open_zip(export)
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert "Mine" in everything
    assert "Theirs" not in everything
    assert other_customer.email not in everything


def test_it_keeps_card_data_out_of_billing_json(customer, django_capture_on_commit_callbacks):
    from djstripe.models import Customer, Invoice, Subscription

    customer.account.stripe_customer_id = "cus_dsar1"
    customer.account.save(update_fields=["stripe_customer_id"])
    card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030, "fingerprint": "fpCARD"}
    stripe_customer = Customer.objects.create(
        id="cus_dsar1", livemode=False, stripe_data={"id": "cus_dsar1", "invoice_settings": {"card": card}}
    )
    Subscription.objects.create(
        id="sub_dsar1",
        livemode=False,
        customer=stripe_customer,
        stripe_data={
            "id": "sub_dsar1",
            "status": "active",
            "current_period_end": 1795000000,
            "default_payment_method": {"card": card},
            "items": {"data": [{"price": {"id": "price_growth", "unit_amount": 2900, "currency": "gbp"}}]},
        },
    )
    Invoice.objects.create(
        id="in_dsar1",
        livemode=False,
        customer=stripe_customer,
        stripe_data={"id": "in_dsar1", "status": "paid", "total": 2900, "charge": {"payment_method_details": card}},
    )
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)

    billing = rows(open_zip(export), "billing.json")
    assert [r["record"] for r in billing] == ["subscription", "invoice"]
    assert billing[0]["status"] == "active" and billing[0]["prices"][0]["unit_amount"] == 2900
    assert billing[1]["total"] == 2900
    text = json.dumps(billing)
    assert "4242" not in text and "fpCARD" not in text and "visa" not in text


@pytest.mark.slow
def test_it_builds_with_a_memory_peak_that_does_not_grow_with_the_rows(customer, other_customer):
    """About eight times the log rows, the same Python heap peak: the build
    holds a few chunks of rows at a time, never the file. Two sizes prove
    that as well as one huge one, in a fraction of the time; the
    100,000-row figures (time, heap, RSS) are `bench/bench_dsar.py`'s,
    printed by `make bench` against their goal."""
    import tracemalloc

    def build(user, *, traced: bool) -> tuple[int, dict]:
        export = DataExport.objects.create(user=user, **deadlines.deadline_fields(timezone.now()))
        if traced:
            tracemalloc.start()
        try:
            assert exports.export_build(export_id=export.pk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        export.refresh_from_db()
        return peak, verify_manifest(open_zip(export))["files"]["logs.json"]

    # A first build loads what every build shares (modules, templates,
    # caches: up to 20 MB once per process), which is not the rows'.
    make_product_data(customer, tag="Warm", logs=3)
    build(customer, traced=False)

    # Both sizes span whole chunks of rows (2,000 a query).
    make_product_data(other_customer, tag="Few", logs=4_000)
    small_peak, small_logs = build(other_customer, traced=True)
    make_product_data(customer, tag="Many", logs=30_000)
    large_peak, large_logs = build(customer, traced=True)

    assert small_logs["rows"] == 4_000 and large_logs["rows"] == 30_003
    # logs.json grows by over 4 MB (the 26,000 more rows held at once would
    # be tens of MB as dicts); the peak grows by less than a quarter of that.
    growth = large_logs["bytes"] - small_logs["bytes"]
    assert growth > 4_000_000
    assert large_peak - small_peak < growth / 4, f"peak {small_peak / 1e6:.2f} -> {large_peak / 1e6:.2f} MB"
    assert large_peak < large_logs["bytes"] / 2


# --- the task --------------------------------------------------------------------------


def test_it_builds_once_when_the_task_runs_twice(customer, django_capture_on_commit_callbacks):
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert exports.export_build(export_id=export.pk) is False
    assert exports.export_build(export_id=export.pk) is False
    export.refresh_from_db()
    assert export.attempts == 1 and export.email_count == 1
    assert len(mail.outbox) == 1
    assert len(default_storage.listdir(f"dsar/{customer.pk}")[1]) == 1


def test_it_retries_then_fails_and_keeps_the_error(customer, settings, django_capture_on_commit_callbacks):
    settings.LEVQOR_DSAR_MAX_ATTEMPTS = 3

    def broken(*, user):
        raise RuntimeError("workflows database unreachable")
        yield  # a generator, like the real providers

    providers.register(providers.Provider(name="broken", files={"broken.json": providers.ExportFile("x", broken)}))
    try:
        export = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    finally:
        providers.unregister("broken")
    assert export.status == DataExport.Status.FAILED
    assert export.attempts == 3
    assert "workflows database unreachable" in export.error
    assert AuditEvent.objects.filter(action="dsar.export_retry").count() == 2
    assert AuditEvent.objects.filter(action="dsar.export_failed").count() == 1
    assert mail.outbox == []


# --- the link and the download -------------------------------------------------------------


@pytest.fixture
def ready_export(customer, django_capture_on_commit_callbacks):
    make_product_data(customer, tag="Mine")
    return request_and_build(customer, capture=django_capture_on_commit_callbacks)


def test_it_emails_a_signed_link_that_streams_the_zip(ready_export, customer_client):
    message = mail.outbox[-1]
    assert message.to == ["owner@acme.test"]
    assert "7 days" in message.body
    response = customer_client.get(link_path(message))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    body = b"".join(response.streaming_content)
    import hashlib

    assert hashlib.sha256(body).hexdigest() == ready_export.file_sha256
    assert AuditEvent.objects.filter(action="dsar.export_downloaded", target_id=str(ready_export.pk)).exists()


def test_it_asks_a_signed_out_visitor_to_sign_in(ready_export, client):
    response = client.get(link_path(mail.outbox[-1]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_it_answers_404_to_another_customer(ready_export, client, other_customer):
    client.force_login(other_customer)
    assert client.get(link_path(mail.outbox[-1])).status_code == 404


def test_it_refuses_a_tampered_link(ready_export, customer_client):
    path = link_path(mail.outbox[-1])
    token = path.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert customer_client.get(f"/data-requests/download/{tampered}").status_code == 404
    forged = signing.dumps({"e": ready_export.pk, "v": 1}, salt="another-salt", compress=True)
    assert customer_client.get(f"/data-requests/download/{forged}").status_code == 404


def test_it_refuses_an_expired_link(ready_export, customer_client):
    import time

    class WeekOldSigner(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 7 * 86400 - 60)

    old = WeekOldSigner(salt=exports.LINK_SALT).sign_object({"e": ready_export.pk, "v": 1}, compress=True)
    response = customer_client.get(f"/data-requests/download/{old}")
    assert response.status_code == 410
    assert "expired" in response.content.decode()

    # And by the export's own expiry, whatever the token's age.
    DataExport.objects.filter(pk=ready_export.pk).update(link_expires_at=timezone.now() - timedelta(seconds=1))
    assert customer_client.get(link_path(mail.outbox[-1])).status_code == 410


def test_it_refuses_an_invalidated_link(ready_export, customer_client, staff):
    path = link_path(mail.outbox[-1])
    assert exports.export_invalidate(export=ready_export, actor=staff)
    assert exports.export_invalidate(export=ready_export, actor=staff) is False  # twice: one effect
    response = customer_client.get(path)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_it_shows_past_exports_and_a_live_link_on_the_page(ready_export, customer_client):
    page = customer_client.get("/data-requests").content.decode()
    assert "Your exports" in page and "Ready" in page
    assert "/data-requests/download/" in page


def test_it_requires_sign_in_for_the_page(client):
    response = client.get("/data-requests")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_it_links_the_page_from_the_footer_and_account_home(customer_client):
    assert 'href="/data-requests"' in customer_client.get("/account").content.decode()
    assert 'href="/data-requests"' in customer_client.get("/pricing").content.decode()


def test_it_requeues_a_build_the_queue_lost(customer, django_capture_on_commit_callbacks):
    from compliance.dsar import tasks

    with django_capture_on_commit_callbacks(execute=False):  # the task is never enqueued
        export = exports.export_request(user=customer, via="web", actor=customer)
    assert tasks.exports_sweep() == 0  # too recent to count as lost
    DataExport.objects.filter(pk=export.pk).update(requested_at=timezone.now() - timedelta(minutes=11))
    assert tasks.exports_sweep() == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    assert tasks.exports_sweep() == 0


def test_it_exports_support_records_and_status_subscription_but_not_internal_notes(
    customer, staff, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from status.models import Subscriber, WebhookSubscriber
    from support.models import Dispute, DisputeMessage

    dispute = Dispute.objects.create(
        account=customer.account,
        user=customer,
        category="billing",
        subject="Double charge",
        description="I was charged twice in October.",
    )
    DisputeMessage.objects.create(dispute=dispute, kind=DisputeMessage.Kind.INTERNAL, body="staff-only-remark")
    DisputeMessage.objects.create(dispute=dispute, kind=DisputeMessage.Kind.REPLY, body="We are refunding one.")
    Subscriber.objects.create(email=customer.email)
    webhook = WebhookSubscriber.objects.create(
        endpoint="https://hooks.example.test/status", email=customer.email, created_at=timezone.now()
    )

    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    archive = open_zip(export)
    verify_manifest(archive)

    (filed,) = rows(archive, "support.json")
    assert filed["subject"] == "Double charge" and filed["description"] == "I was charged twice in October."
    assert [r["body"] for r in filed["replies"]] == ["We are refunding one."]
    assert "staff-only-remark" not in archive.read("support.json").decode()
    subscription, owned = rows(archive, "status.json")
    assert subscription["email"] == customer.email and subscription["components"] == "all"
    assert (owned["kind"], owned["endpoint"], owned["owner_email"]) == ("webhook", webhook.endpoint, customer.email)
    assert webhook.secret not in archive.read("status.json").decode()


def test_the_page_shows_progress_and_refreshes_itself_only_while_an_export_builds(
    customer_client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # queued, not built yet
        export = exports.export_request(user=customer, via="web", actor=customer)
    page = customer_client.get("/data-requests").content.decode()
    assert '<meta http-equiv="refresh" content="10">' in page
    assert "step 1 of 3, waiting to start" in page
    DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.BUILDING, attempts=1)
    page = customer_client.get("/data-requests").content.decode()
    assert "step 2 of 3, building your archive" in page and 'http-equiv="refresh"' in page
    with django_capture_on_commit_callbacks(execute=True):
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.QUEUED)
        exports.export_build(export_id=export.pk)
    page = customer_client.get("/data-requests").content.decode()
    assert 'http-equiv="refresh"' not in page and "step " not in page
    assert "Download" in page
