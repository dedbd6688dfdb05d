import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from compliance import campaigns, marketing, policy
from compliance import mail as compliance_mail
from compliance.models import MARKETING_TOPIC_DESCRIPTIONS, MARKETING_TOPICS, AuditEvent, MarketingSubscription

from .conftest import confirm_link


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what the code queued for after commit, as the real request cycle would."""

    def run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return run


pytestmark = pytest.mark.django_db

ALL_TOPICS = {code: "on" for code in marketing.TOPIC_CODES}


def subscribe(client, email="new@example.test", **topics):
    return client.post("/marketing/subscribe", {"email": email, **(topics or ALL_TOPICS)})


def test_it_subscribes_with_double_opt_in(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = subscribe(client, "New@Example.test", offers="on", technical="on")
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()

    subscription = MarketingSubscription.objects.get()
    assert subscription.email == "new@example.test" and subscription.status == "pending"
    assert subscription.topics == {
        "product_updates": False,
        "offers": True,
        "technical": True,
        "events": False,
        "educational": False,
    }
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.test"]
    assert mail.outbox[0].tags == ["marketing-confirm"]
    assert not policy.marketing_may_receive(email="new@example.test")

    link = confirm_link(mail.outbox[0])
    # Opening the link (or a mail scanner prefetching it) only shows a button.
    assert client.get(link).status_code == 200
    assert MarketingSubscription.objects.get().status == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(link)
    assert confirmed.status_code == 302 and "/marketing/preferences/" in confirmed["Location"]
    subscription.refresh_from_db()
    assert subscription.status == "confirmed" and subscription.confirmed_at
    assert mail.outbox[-1].tags == ["marketing-confirmed"]
    assert policy.marketing_may_receive(email="new@example.test", topic="offers")
    assert not policy.marketing_may_receive(email="new@example.test", topic="events")


def test_subscribing_twice_sends_one_pending_confirmation(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client)
        subscribe(client)
        marketing.marketing_subscribe(email="NEW@example.test", source="api")
    assert len(mail.outbox) == 1
    assert MarketingSubscription.objects.count() == 1


def test_confirming_twice_confirms_once(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client)
    link = confirm_link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
        client.post(link)
    assert [m.tags[0] for m in mail.outbox] == ["marketing-confirm", "marketing-confirmed"]
    assert AuditEvent.objects.filter(action="marketing.confirmed").count() == 1


def test_the_confirmation_link_expires_after_7_days(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client)
    link = confirm_link(mail.outbox[0])
    subscription = MarketingSubscription.objects.get()
    MarketingSubscription.objects.filter(pk=subscription.pk).update(
        confirm_sent_at=subscription.confirm_sent_at - timedelta(days=7, seconds=1)
    )

    response = client.post(link)
    assert response.status_code == 400
    assert "This link no longer works" in response.content.decode()
    assert MarketingSubscription.objects.get().status == "pending"

    # After expiry, subscribing again sends a fresh link, and the old one stays dead.
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client)
    assert len(mail.outbox) == 2
    new_link = confirm_link(mail.outbox[1])
    assert new_link != link
    assert client.post(link).status_code == 400
    assert client.post(new_link).status_code == 302


def test_a_link_within_7_days_still_works(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client)
    token = confirm_link(mail.outbox[0]).rsplit("/", 1)[1]
    sent_at = MarketingSubscription.objects.get().confirm_sent_at
    assert marketing.marketing_confirm(token=token, now=sent_at + timedelta(days=6, hours=23)) is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "offers": "on"}, "Enter a valid email address."),
        ({"email": "", "offers": "on"}, "Enter your email address."),
        ({"email": "ok@example.test"}, "Choose at least one kind of email you would like."),
    ],
)
def test_it_rejects_bad_subscriptions_without_writing(client, data, message):
    response = client.post("/marketing/subscribe", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MarketingSubscription.objects.exists()
    assert mail.outbox == []


def test_a_garbage_confirmation_token_does_nothing(client):
    assert client.post("/marketing/confirm/nonsense").status_code == 400


def test_the_preference_centre_changes_topics_and_confirms_by_email(
    client, confirmed_subscriber, django_capture_on_commit_callbacks
):
    url = "/marketing/preferences/" + marketing.manage_token(confirmed_subscriber)
    page = client.get(url)
    assert page.status_code == 200 and "reader@example.test" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "save", "technical": "on", "events": "on"})
        client.post(url, {"action": "save", "technical": "on", "events": "on"})  # same again: no email
    assert response.status_code == 302
    confirmed_subscriber.refresh_from_db()
    assert confirmed_subscriber.topics == {
        "product_updates": False,
        "offers": False,
        "technical": True,
        "events": True,
        "educational": False,
    }
    assert [m.tags[0] for m in mail.outbox] == ["marketing-preferences-updated"]
    assert "Technical" in mail.outbox[0].body and "Offers" not in mail.outbox[0].body


def test_a_tampered_preferences_link_is_404(client, confirmed_subscriber):
    token = marketing.manage_token(confirmed_subscriber)
    assert client.get("/marketing/preferences/" + token[:-2] + "xx").status_code == 404
    assert client.post("/marketing/unsubscribe/forged").status_code == 404


def test_one_click_unsubscribe_works_without_a_csrf_token_and_is_idempotent(
    confirmed_subscriber, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)  # as a mail provider's RFC 8058 POST
    url = "/marketing/unsubscribe/" + marketing.manage_token(confirmed_subscriber)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {"List-Unsubscribe": "One-Click"})
        second = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert first.status_code == second.status_code == 200
    assert "You are unsubscribed" in first.content.decode()
    confirmed_subscriber.refresh_from_db()
    assert confirmed_subscriber.status == "unsubscribed"
    assert [m.tags[0] for m in mail.outbox] == ["marketing-unsubscribed"]
    assert not policy.marketing_may_receive(email="reader@example.test")


def test_unticking_every_topic_unsubscribes(client, confirmed_subscriber):
    url = "/marketing/preferences/" + marketing.manage_token(confirmed_subscriber)
    response = client.post(url, {"action": "save"})
    assert response.status_code == 302 and "/marketing/unsubscribe/" in response["Location"]
    confirmed_subscriber.refresh_from_db()
    assert confirmed_subscriber.status == "unsubscribed"


def test_every_marketing_email_has_unsubscribe_links_and_headers(confirmed_subscriber, commit):
    sent = commit(
        lambda: campaigns.marketing_send(
            template="marketing-newsletter", topic="product_updates", context={"subject": "News", "body": "Hello"}
        )
    )
    assert sent == 1
    message = mail.outbox[0]
    # Each link is signed when it is written (the signature carries the
    # second), so the header's and the body's may differ: each must
    # unsubscribe this reader.
    link = re.compile(r"http://testserver/marketing/unsubscribe/([^\s\"<>]+)")
    header = link.fullmatch(message.extra_headers["List-Unsubscribe"][1:-1])
    in_text, in_html = link.findall(message.body), link.findall(message.alternatives[0][0])
    assert header and in_text and in_html
    for token in [header.group(1), *in_text, *in_html]:
        assert marketing.subscription_from_manage_token(token) == confirmed_subscriber
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_subscriber_gets_only_the_topics_they_chose(confirmed_subscriber, commit):
    marketing.marketing_preferences_set(subscription=confirmed_subscriber, topics={"events": True})
    mail.outbox = []
    send = campaigns.marketing_send
    assert commit(lambda: send(template="marketing-newsletter", topic="offers", context={"subject": "s"})) == 0
    assert compliance_mail.send("marketing-newsletter", to="reader@example.test", purpose="marketing", topic="offers",
                       context={"subject": "s"}) is None  # fmt: skip
    assert commit(lambda: send(template="marketing-newsletter", topic="events", context={"subject": "s"})) == 1
    assert len(mail.outbox) == 1
    # Running the same campaign again sends nobody anything twice.
    assert commit(lambda: send(template="marketing-newsletter", topic="events", context={"subject": "s"})) == 0
    assert len(mail.outbox) == 1


def test_the_api_subscribes_with_the_same_double_opt_in(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/marketing/subscribe", {"email": "api@example.test", "topics": ["technical"]},
            content_type="application/json",
        )  # fmt: skip
        again = client.post(
            "/api/marketing/subscribe", {"email": "api@example.test", "topics": ["offers"]},
            content_type="application/json",
        )  # fmt: skip
    assert response.status_code == again.status_code == 202
    subscription = MarketingSubscription.objects.get()
    assert subscription.source == "api" and subscription.status == "pending" and subscription.technical
    assert not subscription.offers
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nope", "topics": ["offers"]},
        {},
        {"email": "a@example.test", "topics": ["gossip"]},
        {"email": "a@example.test"},  # no topic is chosen for the person
        {"email": "a@example.test", "topics": []},
    ],
)
def test_the_api_rejects_bad_input_without_writing(client, body):
    response = client.post("/api/marketing/subscribe", body, content_type="application/json")
    assert response.status_code == 400
    assert not MarketingSubscription.objects.exists()


def test_the_subscribe_form_and_api_are_rate_limited_per_ip(client):
    for i in range(10):
        assert subscribe(client, f"u{i}@example.test").status_code == 200
    limited = subscribe(client, "u10@example.test")
    assert limited.status_code == 429
    assert "Please slow down" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    assert MarketingSubscription.objects.count() == 10
    assert subscribe(Client(REMOTE_ADDR="198.51.100.20"), "other@example.test").status_code == 200


def test_the_subscription_is_exported_as_a_plain_dict(confirmed_subscriber, django_user_model):
    user = django_user_model.objects.create_user(email="reader@example.test")
    exported = marketing.marketing_export(user=user)
    assert exported["status"] == "confirmed" and exported["topics"]["offers"] is True


def test_the_subscribe_form_ticks_nothing_and_says_what_each_topic_is(client):
    page = client.get("/marketing/subscribe").content.decode()
    assert "checked" not in page  # pre-ticked boxes are not consent
    for code, label in MARKETING_TOPICS:
        assert label in page and MARKETING_TOPIC_DESCRIPTIONS[code] in page


def test_the_api_reports_and_stops_a_persons_marketing_email(customer, customer_client, commit):
    status = customer_client.get("/api/marketing/status").json()
    assert status == {
        "email": customer.email,
        "subscription": "none",
        "topics": dict.fromkeys(marketing.TOPIC_CODES, False),
        "objected_to_marketing": False,
        "receives_marketing": False,
    }
    commit(lambda: marketing.marketing_subscribe(email=customer.email, topics={"offers": True}, user=customer))
    token = confirm_link(mail.outbox[-1]).rsplit("/", 1)[1]
    commit(lambda: marketing.marketing_confirm(token=token))
    status = customer_client.get("/api/marketing/status").json()
    assert status["subscription"] == "confirmed" and status["receives_marketing"] and status["topics"]["offers"]

    mail.outbox = []
    with_commit = commit(
        lambda: customer_client.post("/api/marketing/unsubscribe", {}, content_type="application/json")
    )
    assert with_commit.status_code == 200
    assert with_commit.json()["subscription"] == "unsubscribed" and not with_commit.json()["receives_marketing"]
    assert [m.tags[0] for m in mail.outbox] == ["marketing-unsubscribed"]  # the opt-out is confirmed by email
    again = customer_client.post("/api/marketing/unsubscribe", {}, content_type="application/json")
    assert again.status_code == 200 and len(mail.outbox) == 1


def test_the_marketing_status_api_needs_a_person(client):
    assert client.get("/api/marketing/status").status_code in (401, 403)
    assert client.post("/api/marketing/unsubscribe", {}, content_type="application/json").status_code in (401, 403)
