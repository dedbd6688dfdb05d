import inspect
import itertools
import json

import pytest
from django.core import mail
from django.test import TestCase

from compliance import campaigns, marketing, objections
from compliance import mail as compliance_mail
from compliance.models import AuditEvent, MarketingSubscription, Objection
from compliance.outbox.services import email_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed_customer(customer, django_capture_on_commit_callbacks):
    """The customer, confirmed for every marketing topic; outbox emptied."""
    with django_capture_on_commit_callbacks(execute=True):
        marketing.marketing_subscribe(email=customer.email, user=customer)
    token = mail.outbox[-1].body.split("/marketing/confirm/")[1].split()[0]
    marketing.marketing_confirm(token=token)
    mail.outbox = []
    return customer


_campaigns = itertools.count(1)


def _sent(queue):
    """Queue through the outbox and let it deliver, as after a real commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return queue()


# Every way marketing email leaves the system: all of it goes through the
# outbox, which applies the policy at delivery. A new sender is added here.
MARKETING_SENDERS = {
    "outbox(purpose=marketing)": lambda user: _sent(
        lambda: email_queue(
            kind="test.marketing",
            about=user,
            stage=str(next(_campaigns)),
            template="marketing-newsletter",
            to=user.email,
            purpose="marketing",
            context={"subject": "Offer", "body": "Buy"},
        )
    ),
    "outbox(purpose=marketing, topic)": lambda user: _sent(
        lambda: email_queue(
            kind="test.marketing",
            about=user,
            stage=str(next(_campaigns)),
            template="marketing-newsletter",
            to=user.email,
            purpose="marketing",
            topic="offers",
            context={"subject": "Offer"},
        )
    ),
    "campaigns.marketing_send": lambda user: _sent(
        lambda: campaigns.marketing_send(
            template="marketing-newsletter",
            topic="product_updates",
            context={"subject": "News", "body": "New!"},
            campaign=f"news-{next(_campaigns)}",
        )
    ),
}


@pytest.mark.parametrize("sender", MARKETING_SENDERS.values(), ids=MARKETING_SENDERS.keys())
def test_an_opted_out_user_receives_no_marketing_mail_from_any_sender(subscribed_customer, sender):
    sender(subscribed_customer)
    assert len(mail.outbox) == 1  # the sender works for someone who has not objected
    mail.outbox = []

    objections.objections_set(user=subscribed_customer, choices={"marketing": True}, source="web", actor=None)
    mail.outbox = []
    sender(subscribed_customer)
    assert mail.outbox == []


def test_marketing_needs_a_confirmed_subscription_even_without_an_objection(customer):
    assert compliance_mail.send("marketing-newsletter", to=customer.email, purpose="marketing", context={}) is None
    assert mail.outbox == []


def test_transactional_mail_still_reaches_an_opted_out_user(customer, client, django_capture_on_commit_callbacks):
    objections.objections_set(user=customer, choices={"marketing": True}, source="web", actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/login", {"email": customer.email})
    assert [m.tags[0] for m in mail.outbox] == ["magic-link"]


def test_every_sender_must_name_a_purpose():
    purpose = inspect.signature(compliance_mail.send).parameters["purpose"]
    assert purpose.kind is inspect.Parameter.KEYWORD_ONLY and purpose.default is inspect.Parameter.empty
    with pytest.raises(ValueError, match="Unknown email purpose"):
        compliance_mail.send("magic-link", to="a@example.test", purpose="newsletter", context={})


def test_the_opt_out_page_records_objections_and_unsubscribes(
    client, subscribed_customer, django_capture_on_commit_callbacks
):
    client.force_login(subscribed_customer)
    page = client.get("/privacy-tools/opt-out")
    assert page.status_code == 200 and "Object to processing" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/privacy-tools/opt-out", {"marketing": "on", "profiling": "on"})
    assert response.status_code == 302
    assert objections.objections_for(user=subscribed_customer) == {
        "marketing": True,
        "profiling": True,
        "automation": False,
        "analytics": False,
    }
    assert MarketingSubscription.objects.get(email=subscribed_customer.email).status == "unsubscribed"
    assert not objections.may_process(subscribed_customer, "profiling")
    assert objections.may_process(subscribed_customer, "automation")
    assert AuditEvent.objects.filter(action="objection.made").count() == 2

    # Withdrawing one is as easy: untick it.
    client.post("/privacy-tools/opt-out", {"marketing": "on"})
    assert objections.may_process(subscribed_customer.email, "profiling")
    assert AuditEvent.objects.filter(action="objection.withdrawn").count() == 1


def test_saving_the_same_choices_twice_changes_nothing(customer):
    assert objections.objections_set(user=customer, choices={"analytics": True}, source="web", actor=customer)
    assert not objections.objections_set(user=customer, choices={"analytics": True}, source="web", actor=customer)
    assert Objection.objects.count() == 1


def test_the_opt_out_page_needs_sign_in(client):
    response = client.get("/privacy-tools/opt-out")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_one_customers_objection_does_not_touch_another(customer, other_customer):
    objections.objections_set(user=customer, choices={"automation": True}, source="web", actor=customer)
    assert not objections.may_process(customer, "automation")
    assert objections.may_process(other_customer, "automation")


def test_the_api_reads_and_sets_objections(customer_client, customer):
    assert customer_client.get("/api/gdpr/opt-out").json() == {
        "marketing": False,
        "profiling": False,
        "automation": False,
        "analytics": False,
    }
    response = customer_client.post("/api/gdpr/opt-out", {"analytics": True}, content_type="application/json")
    assert response.status_code == 200 and response.json()["analytics"] is True
    assert not objections.may_process(customer, "analytics")
    assert Objection.objects.get().source == "api"


@pytest.mark.parametrize("body", [{}, {"tracking": True}, {"analytics": "sometimes"}])
def test_the_api_rejects_bad_input_without_writing(customer_client, body):
    response = customer_client.post("/api/gdpr/opt-out", body, content_type="application/json")
    assert response.status_code == 400
    assert not Objection.objects.exists()


def test_the_api_needs_sign_in(client):
    assert client.get("/api/gdpr/opt-out").status_code in (401, 403)


def test_unknown_purposes_are_programming_errors(customer):
    with pytest.raises(ValueError):
        objections.may_process(customer, "marketing")
    with pytest.raises(ValueError):
        objections.objections_set(user=customer, choices={"tracking": True}, source="web", actor=None)


def test_objections_and_consents_are_exportable_as_plain_data(customer):
    objections.objections_set(user=customer, choices={"profiling": True}, source="api", actor=customer)
    exported = objections.objection_export(user=customer)
    assert exported[0]["kind"] == "profiling" and exported[0]["active"] is True and exported[0]["source"] == "api"
    json.dumps(exported)  # plain data, ready for consents.json


def test_confirming_a_new_subscription_withdraws_a_marketing_objection(customer, django_capture_on_commit_callbacks):
    objections.objections_set(user=customer, choices={"marketing": True}, source="web", actor=customer)
    with django_capture_on_commit_callbacks(execute=True):
        marketing.marketing_subscribe(email=customer.email)
    token = mail.outbox[-1].body.split("/marketing/confirm/")[1].split()[0]
    marketing.marketing_confirm(token=token)
    assert not objections.objected(customer, "marketing")
    assert objections.may_send(customer, "marketing")


def test_the_dsar_export_holds_every_choice_as_plain_json(customer_client, customer, published_terms):
    from compliance.dsar.privacy import consents_export

    customer_client.post("/cookies/consent", {"choice": "reject_all"})
    customer_client.post("/legal/accept-terms", {"version": "2026-11", "agree": "on"})
    customer_client.post("/privacy-tools/opt-out", {"automation": "on"})
    marketing.marketing_subscribe(email=customer.email)

    exported = json.loads(json.dumps(consents_export(user=customer)))
    assert exported["cookie_consents"][0]["mechanism"] == "reject_all"
    assert exported["terms_acceptances"][0]["version"] == "2026-11"
    assert exported["marketing_subscription"]["status"] == "pending"
    assert exported["objections"] == [
        {**exported["objections"][0], "kind": "automation", "active": True, "source": "web"}
    ]


def test_an_analytics_objection_switches_analytics_cookies_off(customer_client, customer):
    from django.test import RequestFactory

    from compliance import consent

    customer_client.post("/cookies/consent", {"choice": "accept_all"})
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in customer_client.cookies.items()}
    request.user = customer
    assert consent.allows(request, "analytics")
    objections.objections_set(user=customer, choices={"analytics": True}, source="web", actor=customer)
    assert not consent.allows(request, "analytics") and consent.allows(request, "functional")


def test_an_objection_is_confirmed_by_email_once_per_change(
    customer, customer_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/api/gdpr/opt-out", {"profiling": True}, content_type="application/json")
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert "Profiling: you object" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post("/api/gdpr/opt-out", {"profiling": True}, content_type="application/json")
    assert len(mail.outbox) == 1  # nothing changed, nothing sent
