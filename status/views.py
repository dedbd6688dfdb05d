"""The public /status page, incident pages and subscription pages. Thin:
selectors for reads, services for writes."""

from datetime import UTC, timedelta

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from levqor.lib.ratelimit import ratelimit

from . import charts, page_cache, selectors, services
from .forms import ComponentChoiceForm, SubscribeForm, WebhookSubscribeForm
from .models import Incident, Maintenance, WebhookSubscriber
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
    return {
        "state": state,
        "rows": _leaf_rows(state, days),
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
    incident = (
        Incident.objects.prefetch_related("updates", "affected__component")
        .filter(public_id=public_id, draft=False)
        .first()
    )
    if incident is not None:
        return render(request, "status/incident.html", {"incident": incident})
    maintenance = Maintenance.objects.prefetch_related("updates", "components").filter(public_id=public_id).first()
    if maintenance is None:
        raise Http404("No such incident")
    return render(request, "status/maintenance.html", {"maintenance": maintenance})


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
