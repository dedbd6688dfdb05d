"""The Stripe payload helpers billing and support share."""

from datetime import UTC, datetime
from types import SimpleNamespace

from billing.payloads import event_object, event_time, id_of, stripe_time


def test_it_reads_an_id_from_a_string_or_an_expanded_object():
    assert id_of("cus_1") == "cus_1"
    assert id_of({"id": "cus_1", "object": "customer"}) == "cus_1"
    assert id_of(None) == id_of({}) == id_of(42) == ""


def test_it_reads_stripe_times_and_treats_zero_as_none():
    assert stripe_time(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert stripe_time(0) is None and stripe_time(None) is None and stripe_time("") is None


def test_it_reads_an_events_time_and_object():
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert event_time(SimpleNamespace(created=naive)) == naive.replace(tzinfo=UTC)
    assert event_time(SimpleNamespace(created=1_700_000_000)) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert event_object({"object": {"id": "in_1"}}) == {"id": "in_1"}
    assert event_object(None) == {} and event_object({}) == {}
