import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models import Q

from compliance import audit
from compliance.models import AuditChainHead, AuditEvent


def _write(n, **kwargs):
    return [audit.record(actor=None, action=f"test.event{i}", details={"i": i, **kwargs}) for i in range(n)]


@pytest.mark.django_db
def test_it_chains_each_event_to_the_previous_one(customer):
    before = AuditEvent.objects.order_by("-seq").first()  # the account's creation
    first = audit.record(actor=customer, action="thing.done", target=customer, details={"note": "hello"})
    second = audit.record(actor=None, action="thing.undone", target_type="x.y", target_id=7)

    assert before.seq == 1 and before.prev_hash == audit.GENESIS
    assert first.seq == 2 and first.prev_hash == before.hash
    assert second.seq == 3 and second.prev_hash == first.hash
    assert first.actor_label == customer.email and second.actor_label == "system"
    assert first.target == f"accounts.user:{customer.pk}"
    assert second.target_id == "7"
    assert audit.verify().ok


@pytest.mark.django_db
def test_entries_for_lists_the_entries_about_an_object_oldest_first(customer, staff):
    first = audit.record(actor=staff, action="test.first", target=customer)
    audit.record(actor=None, action="test.other_user", target=staff)
    audit.record(actor=None, action="test.other_kind", target_type="x.y", target_id=customer.pk)
    second = audit.record(actor=None, action="test.second", target=customer)

    entries = audit.entries_for(customer).filter(action__startswith="test.")

    assert list(entries) == [first, second]


@pytest.mark.django_db
def test_entries_for_adds_the_related_objects_and_the_extra_matches(customer, staff):
    about_customer = audit.record(actor=None, action="test.customer", target=customer)
    batch = audit.record(actor=None, action="test.batch", details={"users": [customer.pk]})
    about_staff = audit.record(actor=None, action="test.staff", target=staff)
    audit.record(actor=None, action="test.unrelated")

    entries = audit.entries_for(customer, staff, also=Q(action="test.batch")).filter(action__startswith="test.")

    assert list(entries) == [about_customer, batch, about_staff]


@pytest.mark.django_db
def test_it_verifies_an_intact_chain():
    _write(5)
    result = audit.verify()
    # account_create in fixtures is not used here: exactly our five events.
    assert result.ok and result.checked == 5


@pytest.mark.django_db
def test_it_reports_an_edited_event_as_the_first_broken_link():
    events = _write(5)
    AuditEvent.objects.filter(pk=events[2].pk).update(action="test.forged")

    result = audit.verify()

    assert not result.ok
    assert result.broken_seq == 3
    assert "no longer match its hash" in result.reason


@pytest.mark.django_db
def test_it_reports_edited_details():
    events = _write(3)
    AuditEvent.objects.filter(pk=events[1].pk).update(details={"i": 99})

    result = audit.verify()

    assert not result.ok and result.broken_seq == 2
    assert "details" in result.reason


@pytest.mark.django_db
def test_it_reports_a_deleted_event():
    events = _write(4)
    AuditEvent.objects.filter(pk=events[1].pk)._raw_delete(connection.alias)

    result = audit.verify()

    assert not result.ok and result.broken_seq == 3
    assert "missing" in result.reason


@pytest.mark.django_db
def test_it_reports_events_cut_from_the_end():
    events = _write(4)
    AuditEvent.objects.filter(pk=events[-1].pk)._raw_delete(connection.alias)

    result = audit.verify()

    assert not result.ok
    assert "removed" in result.reason


@pytest.mark.django_db
def test_it_keeps_the_chain_valid_when_personal_details_are_blanked(customer):
    audit.record(actor=customer, action="profile.updated", details={"email": customer.email, "name": "Olive"})
    _write(2)

    blanked = audit.blank_details(events=AuditEvent.objects.filter(actor=customer))
    again = audit.blank_details(events=AuditEvent.objects.filter(actor=customer))

    assert blanked >= 1 and again == 0
    event = AuditEvent.objects.filter(action="profile.updated").get()
    assert event.details == {} and event.actor_label == "" and event.details_salt == ""
    assert audit.verify().ok


@pytest.mark.django_db
def test_it_refuses_to_update_or_delete_an_event():
    (event,) = _write(1)
    event.action = "test.changed"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event0"


@pytest.mark.django_db
def test_verify_audit_command_exits_non_zero_on_a_broken_chain(capsys):
    events = _write(3)
    call_command("verify_audit")
    assert "intact: 3 events" in capsys.readouterr().out

    AuditEvent.objects.filter(pk=events[0].pk).update(target_id="tampered")
    with pytest.raises(CommandError, match=r"broken at #1"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_task_fails_loudly_on_a_broken_chain():
    from compliance.tasks import audit_verify

    events = _write(2)
    assert "intact" in audit_verify()
    AuditEvent.objects.filter(pk=events[1].pk).update(action="x")
    with pytest.raises(RuntimeError, match="broken"):
        audit_verify()


@pytest.mark.django_db(transaction=True)
def test_it_does_not_fork_the_chain_under_concurrent_writers():
    """Two threads, each with its own database connection, append at once.
    The head-row lock must serialise them into one linear chain."""
    per_thread, errors = 40, []
    barrier = threading.Barrier(2)

    def writer(name):
        try:
            barrier.wait()
            for i in range(per_thread):
                audit.record(actor=None, action=f"race.{name}", details={"i": i})
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AuditEvent.objects.count() == 2 * per_thread
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * per_thread + 1))
    assert AuditEvent.objects.filter(action="race.a").count() == per_thread
    assert AuditChainHead.objects.get().seq == 2 * per_thread
    assert audit.verify().ok
