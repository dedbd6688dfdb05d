"""The admin index, grouped by the work: queues with something in them on
top, dashboards as links without a count, every model under a work group,
and dj-stripe's mirror behind one "Stripe mirror" entry."""

import re

import pytest
from django.contrib import admin

from levqor.admin_site import WORK_GROUPS, work_groups
from levqor.lib import attention

pytestmark = pytest.mark.django_db


def _captions(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<caption>(.*?)</caption>", html, re.S)]


def test_it_lists_queues_first_then_dashboards_then_the_work_groups(staff_client):
    page = staff_client.get("/admin/").content.decode()

    captions = _captions(page)
    assert captions[:3] == ["Needs attention", "Dashboards", "Customer requests"]
    assert captions[-1] == "Stripe mirror"
    assert "Billing and payments" in captions and "Status and incidents" in captions


def test_dashboards_are_links_without_a_count(staff_client):
    page = staff_client.get("/admin/").content.decode()

    dashboards = page.split('id="dashboards"')[1].split("</table>")[0]
    assert 'href="/admin/compliance/dashboard/"' in dashboards and "Compliance dashboard" in dashboards
    attention_table = page.split('id="needs-attention"')[1].split("</table>")[0]
    assert "Compliance dashboard" not in attention_table
    assert "Compliance dashboard" not in [q.label for q in attention.queue_counts()]


def test_queues_with_work_come_first(staff_client, monkeypatch):
    monkeypatch.setattr(attention, "_queues", {})
    attention.register("Quiet queue", count=lambda: 0, url_name="admin:index")
    attention.register("Busy queue", count=lambda: 3, url_name="admin:index")

    page = staff_client.get("/admin/").content.decode()

    assert page.index("Busy queue") < page.index("Quiet queue")


def test_stripe_mirror_models_are_off_the_index_but_one_click_away(staff_client):
    index = staff_client.get("/admin/").content.decode()
    assert "/admin/djstripe/customer/" not in index
    assert 'href="/admin/djstripe/"' in index

    mirror = staff_client.get("/admin/djstripe/").content.decode()

    assert "/admin/djstripe/customer/" in mirror and "/admin/djstripe/invoice/" in mirror


def test_a_model_no_group_names_still_shows_under_other():
    def model(name):
        return {"object_name": name, "name": name, "admin_url": f"/admin/x/{name.lower()}/"}

    app_list = [
        {"app_label": "support", "models": [model("Dispute")]},
        {"app_label": "brand_new", "models": [model("Gadget")]},
        {"app_label": "djstripe", "app_url": "/admin/djstripe/", "models": [model("Customer"), model("Invoice")]},
    ]

    groups = {group["name"]: [m["object_name"] for m in group["models"]] for group in work_groups(app_list)}

    assert groups == {"Customer requests": ["Dispute"], "Other": ["Gadget"], "Stripe mirror": ["StripeMirror"]}


def test_todays_models_are_all_in_a_work_group(staff_client):
    named = {key for _group, keys in WORK_GROUPS for key in keys}
    ours = {
        f"{model._meta.app_label}.{model.__name__}"
        for model in admin.site._registry
        if model._meta.app_label != "djstripe"
    }
    # A model added later shows under "Other" until it is named in WORK_GROUPS.
    assert ours - named == set()
