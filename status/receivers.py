"""Doorways from the rest of the project into the status app: the banner
provider and the anymail signals that record the email component's state."""

import time
from datetime import UTC

from django.urls import reverse

from levqor.lib.banners import Banner

from . import selectors, services

_STARTED = "_levqor_status_send_started"


def status_banners(request) -> list[Banner]:
    """The same truth as /status, from the one evaluation (cached inputs,
    so cheap): each published unresolved incident, an outage no incident
    explains yet, delayed monitoring, each maintenance in progress."""
    items = selectors.banner_items()
    if not items:
        return []
    link = reverse("status:page")
    result = []
    for item in items:
        if item["kind"] == "incident":
            level = "danger" if item["impact"] in ("major", "critical") else "warning"
            result.append(Banner(level, f"Ongoing incident: {item['name']}", link, "See the status page"))
        elif item["kind"] == "outage":
            names = ", ".join(item["names"])
            result.append(Banner("danger", f"Service problem detected: {names}", link, "See the status page"))
        elif item["kind"] == "stale":
            since = f"{item['since'].astimezone(UTC):%H:%M} UTC"
            result.append(Banner("warning", f"Status monitoring delayed since {since}", link, "See the status page"))
        else:
            result.append(Banner("info", f"Maintenance in progress: {item['name']}", link, "See the status page"))
    return result


def email_send_started(sender, message, esp_name, **kwargs):
    setattr(message, _STARTED, time.perf_counter())


def email_send_finished(sender, message, status, esp_name, **kwargs):
    """Each real send is the email component's probe."""
    started = getattr(message, _STARTED, None)
    latency = round((time.perf_counter() - started) * 1000) if started else None
    failed = bool(status.status) and status.status <= {"rejected", "failed", "invalid"}
    services.email_contact_record(ok=not failed, latency_ms=latency, error="rejected" if failed else "")


def external_contact(sender, name: str, ok: bool, latency_ms: int | None, error: str = "", **kwargs):
    """Another app reached an outside service (billing: Stripe). The Stripe
    component's state is the result of the last real contact."""
    if name == "stripe":
        services.stripe_contact_record(ok=ok, latency_ms=latency_ms, error=error)
