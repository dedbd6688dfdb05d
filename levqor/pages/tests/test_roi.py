"""The ROI calculator and the "Not ready yet?" aside, as the server renders them."""

import re
from decimal import Decimal

import pytest

from levqor import plans
from levqor.pages.roi import roi_saving

pytestmark = pytest.mark.django_db


def test_it_turns_weekly_hours_into_a_monthly_saving():
    saving = roi_saving(hours_per_week=Decimal("10"), hourly_rate=Decimal("30"))

    assert saving.hours_per_month == Decimal("43.3") and saving.money_per_month == Decimal("1300")


def test_the_page_shows_the_saving_and_keeps_every_price(client):
    plain = client.get("/pricing").content.decode()

    page = client.get("/pricing", {"hours": "2.5", "rate": "18"}).content.decode()

    assert '<output name="roi-hours" id="roi-hours">10.8</output>' in page
    assert '£<output name="roi-money" id="roi-money">195</output>' in page
    assert plans.missing_from_page(page) == []
    # Everything above the calculator, but the checkout forms' CSRF tokens (masked anew on every render).
    strip = lambda html: re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html.split('id="roi"')[0])  # noqa: E731
    assert strip(page) == strip(plain)  # no discount, no price change


@pytest.mark.parametrize(
    "query",
    [{"hours": "-1", "rate": "20"}, {"hours": "x", "rate": "20"}, {"hours": "5"}, {"hours": "5", "rate": "1e9"}],
)
def test_bad_input_is_a_form_error(client, query):
    response = client.get("/pricing", query)

    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert 'class="roi-result" aria-live="polite" hidden' in response.content.decode()


def test_not_ready_shows_the_trial_sentence_until_dismissed(client):
    aside = client.get("/pricing").content.decode().split('id="not-ready"')[1].split("</aside>")[0]
    assert plans.TRIAL_TEXT in aside
    assert "Start your free trial" in aside

    assert client.get("/pricing/not-ready/dismiss").status_code == 302

    assert 'id="not-ready"' not in client.get("/pricing").content.decode()
