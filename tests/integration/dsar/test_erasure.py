"""Erasure: the "delete my data" request, staff review, anonymisation across
apps, the closed account and an audit trail that still verifies."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from compliance import audit, objections
from compliance.dsar import deadlines, erasure
from compliance.dsar.models import DataExport, ErasureRequest
from compliance.models import AuditEvent, Objection, ScreeningAppeal, ScreeningBlock, TermsNotice, TermsVersion
from levqor.accounts.models import Account, User
from levqor.api.models import ApiKey
from levqor.api.testing import issue_key
from levqor.workflows.models import Run, RunLog, Workflow

from .helpers import make_product_data, open_zip, request_and_build, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(customer, django_capture_on_commit_callbacks) -> ErasureRequest:
    with django_capture_on_commit_callbacks(execute=True):
        request = erasure.erasure_request(user=customer, note="Please remove me", actor=customer)
    return request


def approve(request, staff, capture):
    with capture(execute=True):
        assert erasure.erasure_approve(request=request, reason="Verified by email", actor=staff)
    request.refresh_from_db()
    return request


def test_it_records_a_request_with_a_due_date_and_confirms_it(pending, customer):
    assert pending.status == ErasureRequest.Status.PENDING
    assert pending.due_on == deadlines.due_date(pending.received_on)
    assert mail.outbox[-1].to == [customer.email]
    assert "received your request to delete" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="erasure.requested", target_id=str(pending.pk)).exists()


def test_it_keeps_one_open_request_per_person(pending, customer):
    assert erasure.erasure_request(user=customer, actor=customer) == pending
    assert ErasureRequest.objects.filter(user=customer).count() == 1


def test_it_needs_the_confirmation_box_on_the_page(customer_client, customer):
    response = customer_client.post("/data-requests/erase", {"note": "bye"}, follow=True)
    assert "Tick the box" in response.content.decode()
    assert not ErasureRequest.objects.exists()
    response = customer_client.post("/data-requests/erase", {"confirm": "on", "note": "bye"}, follow=True)
    assert "We have your request to delete your data" in response.content.decode()
    assert ErasureRequest.objects.get().note == "bye"


def test_it_refuses_with_a_reason_that_is_emailed(pending, staff, customer, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError):
        erasure.erasure_refuse(request=pending, reason=" ", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure.erasure_refuse(request=pending, reason="Open invoice dispute", actor=staff)
    assert erasure.erasure_refuse(request=pending, reason="again", actor=staff) is False
    pending.refresh_from_db()
    assert pending.status == ErasureRequest.Status.REFUSED and pending.decided_by == staff
    assert "Open invoice dispute" in mail.outbox[-1].body
    customer.refresh_from_db()
    assert customer.is_active and customer.email == "owner@acme.test"


def test_it_erases_across_apps_and_keeps_the_audit_chain_valid(
    pending, staff, customer, other_customer, django_capture_on_commit_callbacks
):
    run = make_product_data(customer, tag="Mine", logs=4)
    theirs = make_product_data(other_customer, tag="Theirs", logs=2)
    objections.objections_set(user=customer, choices={"profiling": True}, source="web", actor=customer)
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    key = issue_key(customer.account, mode="live")
    account_id = customer.account_id
    assert audit.verify().ok

    approve(pending, staff, django_capture_on_commit_callbacks)

    pending.refresh_from_db()
    assert pending.status == ErasureRequest.Status.COMPLETED, pending.error
    user = User.objects.get(pk=customer.pk)
    assert user.email == f"erased-{user.pk}@erased.invalid" and user.name == "" and not user.is_active
    assert not user.has_usable_password()
    account = Account.objects.get(pk=account_id)
    assert account.billing_state == Account.BillingState.CANCELED
    assert "Acme" not in account.name
    # Facts stay, content goes.
    workflow = Workflow.objects.get(pk=run.workflow_id)
    assert "Mine" not in workflow.name and workflow.description == "" and workflow.steps[0]["type"] == "transform"
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and run.payload == {} and run.output is None
    assert RunLog.objects.filter(run=run).count() == 4
    assert not RunLog.objects.filter(run=run, message__contains="Mine").exists()
    # Someone else's data is untouched.
    theirs.refresh_from_db()
    assert theirs.payload == {"customer": "Theirs payload"}
    assert RunLog.objects.filter(run=theirs, message__contains="Theirs").count() == 2
    # Compliance records and the export file.
    assert not Objection.objects.filter(email="owner@acme.test").exists()
    export.refresh_from_db()
    assert export.file_deleted_at is not None and export.invalidated_at is not None
    assert ApiKey.objects.get(pk=key.key.pk).revoked_at is not None
    # The audit trail: personal details blanked, chain intact.
    about = AuditEvent.objects.filter(target_type="accounts.user", target_id=str(customer.pk))
    assert about.exists() and not about.filter(details_erased_at__isnull=True).exists()
    assert not AuditEvent.objects.filter(actor_label="owner@acme.test").exists()
    assert not AuditEvent.objects.filter(details__owner_email="owner@acme.test").exists()
    result = audit.verify()
    assert result.ok, result.describe()
    # The person is told, once, at the address we no longer hold.
    assert mail.outbox[-1].to == ["owner@acme.test"]
    assert "we have erased" in mail.outbox[-1].body


def test_it_erases_once_when_the_task_runs_twice(pending, staff, django_capture_on_commit_callbacks):
    approve(pending, staff, django_capture_on_commit_callbacks)
    sent = len(mail.outbox)

    assert erasure.erasure_execute(request_id=pending.pk) is False
    assert AuditEvent.objects.filter(action="erasure.completed").count() == 1
    assert len(mail.outbox) == sent


def test_it_keeps_the_account_open_when_others_still_use_it(
    pending, staff, customer, django_capture_on_commit_callbacks
):
    colleague = User.objects.create_user(email="colleague@acme.test", account=customer.account)
    run = make_product_data(customer, tag="Shared")
    approve(pending, staff, django_capture_on_commit_callbacks)
    assert Account.objects.get(pk=customer.account_id).billing_state == Account.BillingState.ACTIVE
    run.refresh_from_db()
    assert run.payload == {"customer": "Shared payload"}  # the organisation's data stays
    assert run.started_by == "[erased]"
    colleague.refresh_from_db()
    assert colleague.is_active
    # The shared account's creation entry named the person: blanked too.
    created = AuditEvent.objects.get(action="account.created", target_id=str(customer.account_id))
    assert created.details == {} and created.details_erased_at is not None
    assert audit.verify().ok


def test_it_marks_a_failed_erasure_and_rolls_it_back(
    pending, staff, customer, monkeypatch, django_capture_on_commit_callbacks
):
    from compliance.dsar import providers

    def broken(*, user, actor):
        raise RuntimeError("disk full")

    providers.register(providers.Provider(name="zz-broken", erase=broken))
    try:
        with pytest.raises(RuntimeError):
            approve(pending, staff, django_capture_on_commit_callbacks)
    finally:
        providers.unregister("zz-broken")
    pending.refresh_from_db()
    assert pending.status == ErasureRequest.Status.FAILED and "disk full" in pending.error
    customer.refresh_from_db()
    assert customer.email == "owner@acme.test"  # rolled back
    assert audit.verify().ok
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure.erasure_retry(request=pending, actor=staff)
    pending.refresh_from_db()
    assert pending.status == ErasureRequest.Status.COMPLETED


def test_it_keeps_export_rows_after_erasure(pending, staff, customer, django_capture_on_commit_callbacks):
    request_and_build(customer, capture=django_capture_on_commit_callbacks)
    approve(pending, staff, django_capture_on_commit_callbacks)
    assert DataExport.objects.filter(user=customer).count() == 1


def test_it_exports_and_erases_screening_appeals_and_terms_notices(
    pending, staff, customer, django_capture_on_commit_callbacks
):
    block = ScreeningBlock.objects.create(account_id=customer.account_id, kind="workflow_definition", reason="x")
    appeal = ScreeningAppeal.objects.create(block=block, submitted_by=customer, explanation="It is test data, honest")
    version = TermsVersion.objects.create(version="2099-01", text="Terms", changelog="New")
    TermsNotice.objects.create(version=version, user=customer)
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    [row] = rows(open_zip(export), "screening.json")
    assert row["explanation"] == "It is test data, honest" and row["status"] == "pending"

    approve(pending, staff, django_capture_on_commit_callbacks)

    appeal.refresh_from_db()
    assert "honest" not in appeal.explanation
    assert not TermsNotice.objects.filter(user=customer).exists()
    assert pending.summary["compliance"]["terms_notices_deleted"] == 1
