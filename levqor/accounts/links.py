"""Links to the one page per customer in the admin (`admin/customers/<id>/`,
served by the support app and wired in levqor/urls.py). Every admin's
account column links there; the URL is looked up by name, so the core
imports nothing of the app that serves it."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

CUSTOMER_URL_NAME = "customer_page"


def customer_url(account_id: int) -> str:
    try:
        return reverse(CUSTOMER_URL_NAME, args=[account_id])
    except NoReverseMatch:
        return ""


def customer_link(account) -> str:
    """The account's name linking to its customer page ("—" without an account)."""
    if account is None:
        return "—"
    url = customer_url(account.pk)
    return format_html('<a href="{}">{}</a>', url, account) if url else str(account)


@admin.display(description="account", ordering="account__name")
def account_column(obj) -> str:
    """An admin list column: the record's account, linking to its customer page."""
    return customer_link(obj.account)
