"""The public /status page, incident pages, the history, badges, the embed
and subscription pages. Thin: selectors for reads, services for writes."""

import hashlib
from datetime import UTC, timedelta

from csp.decorators import csp_replace
from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from levqor.lib.ratelimit import ratelimit

from . import badges, cache_keys, charts, page_cache, selectors, services
from .forms import ComponentChoiceForm, SubscribeForm, WebhookSubscribeForm
from .models import Component, Incident, IncidentComponent, Maintenance, MaintenanceUpdate, WebhookSubscriber
from .services import subscriptions

RECENT_DAYS = 14


def _leaf_rows(state: selectors.PageState, days: dict) -> list[dict]:
    rows = []
    for view in state.components:
        children = view.children if view.component.is_group else [view]
        entries = []
        for child in children:
            if child.component.only_show_if_degraded and child.status == "operational":
                continue
            history = days[child.component.pk]
            uptime = selectors.uptime_percent(history)
            entries.append(
                {
                    "view": child,
                    "uptime": charts.format_percent(uptime),
                    "bars": charts.uptime_bars(history, name=child.component.name, uptime=uptime),
                }
            )
        rows.append({"group": view if view.component.is_group else None, "entries": entries})
    return rows


def status_page_context(*, now=None) -> dict:
    now = now or timezone.now()
    state = selectors.page_state(now=now)
    leaves = [v for v in state.all_components if not v.component.is_group]
    ids = [v.component.pk for v in leaves]
    days = selectors.uptime_by_day(component_ids=ids, last_day=now.astimezone(UTC).date(), days=90)
    series_24h = selectors.hourly_series(component_ids=ids, end=now, hours=24)
    series_7d = selectors.hourly_series(component_ids=ids, end=now, hours=24 * 7)
    rows = _leaf_rows(state, days)
    # Each component's last 12 months beside its 90-day bars (the history's
    # table, from the same cached aggregate).
    months = {row["slug"]: row for row in _uptime_table(now=now)["rows"]}
    for row in rows:
        for entry in row["entries"]:
            entry["months"] = months.get(entry["view"].component.slug)
    return {
        "state": state,
        "rows": rows,
        "chart_24h": charts.latency_chart(
            [(v.component.name, series_24h[v.component.pk]) for v in leaves],
            window="24h",
            title="Latency and availability, last 24 hours (hourly)",
            tick_every=4,
        ),
        "chart_7d": charts.latency_chart(
            [(v.component.name, series_7d[v.component.pk]) for v in leaves],
            window="7d",
            title="Latency and availability, last 7 days (hourly)",
            tick_every=24,
        ),
        "recent": selectors.incidents_resolved_since(since=now - timedelta(days=RECENT_DAYS)),
        "recent_days": RECENT_DAYS,
        "form": SubscribeForm(),
        "time_zone": settings.TIME_ZONE,
    }


def _render_status_page(request):
    context = status_page_context()
    return render(request, "status/page.html", context), context["state"].stale


@require_safe
def status_page(request):
    variant = page_cache.shared_variant(request)
    if variant is not None:
        return page_cache.serve(request, variant, lambda: _render_status_page(request))
    response, stale = _render_status_page(request)
    if stale:
        services.oncall.raise_on_stale_read(now=timezone.now())
    return response


@require_safe
def incident_detail(request, public_id: str):
    """The permanent page of a published incident or of a maintenance, for
    as long as it exists: its whole timeline and what it affected."""
    incident = (
        Incident.objects.prefetch_related(
            "updates",
            Prefetch(
                "affected",
                queryset=IncidentComponent.objects.filter(component__hidden=False).select_related("component"),
            ),
        )
        .filter(public_id=public_id, draft=False)
        .first()
    )
    canonical = settings.LEVQOR_BASE_URL + reverse("status:incident", args=[public_id])
    if incident is not None:
        return render(request, "status/incident.html", {"incident": incident, "canonical": canonical})
    maintenance = (
        Maintenance.objects.prefetch_related(
            Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("-display_at", "-id")),
            Prefetch("components", queryset=Component.objects.filter(hidden=False)),
        )
        .filter(public_id=public_id)
        .first()
    )
    if maintenance is None:
        raise Http404("No such incident")
    return render(request, "status/maintenance.html", {"maintenance": maintenance, "canonical": canonical})


# --- Issue 17 item 2: the history (every incident and maintenance, monthly uptime) ---

UPTIME_MONTHS = 12


def _uptime_table(*, now) -> dict:
    """Per public component, the uptime of each of the last 12 UTC months:
    one aggregate query, kept in the shared cache under the status
    generation (`cache_keys`), so any change to results rebuilds it."""
    generation, table = cache_keys.document_get("history:uptime")
    if table is not None:
        return table
    leaves = list(Component.objects.filter(hidden=False, is_group=False).order_by("position", "name"))
    months = selectors.uptime_by_month(
        component_ids=[c.pk for c in leaves], last_day=now.astimezone(UTC).date(), months=UPTIME_MONTHS
    )
    span = months[leaves[0].pk] if leaves else []
    table = {
        "months": [m.day for m in span],
        "rows": [
            {
                "name": c.name,
                "slug": c.slug,
                "year": charts.format_percent(selectors.uptime_percent(months[c.pk])),
                "cells": [
                    {"month": m.day, "uptime": charts.format_percent(m.uptime), "level": charts.bar_colour(m.uptime)[1]}
                    for m in months[c.pk]
                ],
            }
            for c in leaves
        ],
    }
    cache_keys.document_set("history:uptime", generation, table, settings.LEVQOR_STATUS_PAGE_CACHE_SECONDS)
    return table


def _page_number(raw: str | None) -> int:
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise Http404("No such page of the history")
    return int(raw)


def _render_history(request, number: int) -> HttpResponse:
    now = timezone.now()
    page = selectors.history_page(number=number, now=now)
    if page is None:
        raise Http404("No such page of the history")
    context = {
        "page": page,
        "uptime": _uptime_table(now=now) if number == 1 else None,
        "per_page": selectors.HISTORY_MONTHS_PER_PAGE,
        "time_zone": settings.TIME_ZONE,
        "canonical": settings.LEVQOR_BASE_URL + reverse("status:history") + (f"?page={number}" if number > 1 else ""),
    }
    return render(request, "status/history.html", context)


@require_safe
def history(request):
    number = _page_number(request.GET.get("page"))
    variant = page_cache.shared_variant(request)  # the first page, for visitors not signed in
    if variant is not None:
        return page_cache.serve(request, f"history:{variant}", lambda: (_render_history(request, 1), False))
    return _render_history(request, number)


# --- Issue 17 item 5: badges and the embed ---------------------------------------

PUBLIC_CACHE_SECONDS = 60


def _public_document(request, body: bytes, content_type: str) -> HttpResponse:
    """A document any cache may keep for a minute, with an ETag (304 when
    the client has it). Sets no cookie: nothing here reads the session or
    asks for a CSRF token."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={PUBLIC_CACHE_SECONDS}"
    return response


def _evaluation():
    evaluation = selectors.status_evaluate()  # the one evaluation (/status, /api/v2, health)
    if evaluation.stale:
        services.oncall.raise_on_stale_read(now=evaluation.now)
    return evaluation


@require_safe
def badge(request):
    status = badges.INDICATOR_STATUS[_evaluation().indicator]
    return _public_document(request, badges.badge_svg(label="status", status=status).encode(), "image/svg+xml")


@require_safe
def component_badge(request, key: str):
    found = next(
        (c for c in _evaluation().components if not c.hidden and key in (c.slug, c.public_id)),
        None,
    )
    if found is None:
        raise Http404("No such component")
    body = badges.badge_svg(label=found.name, status=found.status).encode()
    return _public_document(request, body, "image/svg+xml")


@xframe_options_exempt  # meant for other sites' iframes: only this view
@csp_replace({"frame-ancestors": ["*"]})
@require_safe
def embed(request):
    evaluation = _evaluation()
    status = badges.INDICATOR_STATUS[evaluation.indicator]
    context = {
        "indicator": evaluation.indicator,
        "description": selectors.INDICATOR_DESCRIPTION[evaluation.indicator],
        "status": status,
        "incidents": evaluation.incidents,
        "maintenances": evaluation.maintenances,
        "base_url": settings.LEVQOR_BASE_URL,
    }
    # Rendered without the request: no context processors, so no cookie
    # banner, no CSRF token and no session read.
    body = render_to_string("status/embed.html", context).encode()
    return _public_document(request, body, "text/html; charset=utf-8")


# Sign-ups per client address per hour, so the form cannot be used to
# mail-bomb strangers with confirmation requests.
SUBSCRIBE_LIMIT = 10


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit("status-subscribe", rate=f"{SUBSCRIBE_LIMIT}/1h")
def subscribe(request):
    """Email (the default tab) or webhook (`mode=webhook`) subscriptions."""
    posted = request.POST if request.method == "POST" else None
    webhook = (request.POST.get("mode") or request.GET.get("mode")) == "webhook"
    form = (WebhookSubscribeForm if webhook else SubscribeForm)(posted)
    if posted is not None and form.is_valid():
        data = form.cleaned_data
        if webhook:
            services.webhook_subscriber_subscribe(
                endpoint=data["endpoint"], email=data["email"], components=data["components"]
            )
        else:
            services.subscriber_subscribe(email=data["email"], components=data["components"])
        # The same answer whether or not the address was known.
        return render(request, "status/subscribe_sent.html", {"email": data["email"], "webhook": webhook})
    return render(
        request,
        "status/subscribe.html",
        {"form": form, "webhook": webhook, "signature_header": services.webhooks.SIGNATURE_HEADER},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe_confirm(request, token: str):
    # GET only shows a button: link scanners in mail systems follow GETs.
    if request.method != "POST":
        return render(request, "status/subscribe_confirm.html", {"token": token})
    subscriber = services.subscriber_confirm(token=token)
    if subscriber is None:
        return render(request, "status/link_invalid.html", status=400)
    return render(request, "status/subscribe_done.html", {"subscriber": subscriber})


@csrf_exempt  # the signed token authorises it; mail clients POST here (RFC 8058 one-click)
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    if request.method != "POST":
        return render(request, "status/unsubscribe.html", {"token": token})
    subscriber = services.subscriber_unsubscribe(token=token)
    if subscriber is None:
        return render(request, "status/link_invalid.html", status=400)
    return render(request, "status/unsubscribe_done.html", {"subscriber": subscriber})


# --- Item 3 (issue 17): managing a subscription, webhook subscribers ------------------


@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token: str):
    """The signed link in every status message: choose components, unsubscribe;
    for a webhook also re-enable it and make a new signing secret."""
    subscriber = subscriptions.from_token(token, salt=subscriptions.MANAGE_SALT)
    if subscriber is None:
        return render(request, "status/link_invalid.html", status=400)
    is_webhook = isinstance(subscriber, WebhookSubscriber)
    if subscriber.unsubscribed_at is not None:
        return render(request, "status/unsubscribe_done.html", {"subscriber": subscriber, "webhook": is_webhook})
    action = request.POST.get("action") if request.method == "POST" else None
    form = ComponentChoiceForm(initial=ComponentChoiceForm.initial_for(subscriber))
    context = {"subscriber": subscriber, "webhook": is_webhook, "token": token}
    if action == "unsubscribe":
        if is_webhook:
            services.webhook_subscriber_unsubscribe(subscriber=subscriber)
        else:
            services.subscriber_remove(subscriber=subscriber, actor=None)
        subscriber.refresh_from_db()
        return render(request, "status/unsubscribe_done.html", context)
    if action == "enable" and is_webhook:
        context["enabled"] = services.webhook_subscriber_enable(subscriber=subscriber)
    elif action == "rotate" and is_webhook:
        context["secret"] = services.webhook_secret_rotate(subscriber=subscriber)
    elif action == "components":
        form = ComponentChoiceForm(request.POST)
        if form.is_valid():
            services.subscription_components_set(subscriber=subscriber, components=form.cleaned_data["components"])
            context["saved"] = True
    elif action is not None:
        return render(request, "status/link_invalid.html", status=400)
    context["form"] = form
    return render(request, "status/manage.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
def webhook_confirm(request, token: str):
    # GET only shows a button: link scanners in mail systems follow GETs.
    if request.method != "POST":
        return render(request, "status/webhook_confirm.html", {"token": token})
    subscriber, secret = services.webhook_subscriber_confirm(token=token)
    if subscriber is None:
        return render(request, "status/link_invalid.html", status=400)
    return render(
        request,
        "status/webhook_confirmed.html",
        {
            "subscriber": subscriber,
            "secret": secret,
            "manage_url": subscriptions.manage_url(subscriber),
            "signature_header": services.webhooks.SIGNATURE_HEADER,
        },
    )


@csrf_exempt  # the signed token authorises it (the webhook's meta.unsubscribe link)
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_unsubscribe(request, token: str):
    subscriber = subscriptions.from_token(token, salt=subscriptions.WEBHOOK_UNSUBSCRIBE_SALT)
    if not isinstance(subscriber, WebhookSubscriber):
        return render(request, "status/link_invalid.html", status=400)
    if request.method != "POST":
        return render(request, "status/unsubscribe.html", {"subscriber": subscriber, "webhook": True, "token": token})
    services.webhook_subscriber_unsubscribe(subscriber=subscriber)
    subscriber.refresh_from_db()
    return render(request, "status/unsubscribe_done.html", {"subscriber": subscriber, "webhook": True})
