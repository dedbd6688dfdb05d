"""What the browser tests visit: every public page, every customer page (with
a small world of the customer's own records), and how to sign a browser in."""

import os
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

PUBLIC_PAGES = [
    "/",
    "/pricing",
    "/dfy-contract",
    "/api-docs",
    "/status",
    "/status/history",
    "/status/subscribe",
    "/status/subscribe?mode=webhook",
    "/sla",
    "/business-continuity",
    "/emergency-contacts",
    "/terms",
    "/privacy",
    "/refunds",
    "/cookies",
    "/high-risk-data",
    "/marketing/subscribe",
    "/disputes",
    "/login",
]

# Screenshots of every page at every width, for a person to look at (no
# test compares them), taken only when LEVQOR_SCREENSHOTS=1: capturing and
# encoding ~80 full pages was about a tenth of the whole suite's time, spent
# on files nobody reads in an ordinary run. JPEG: a full-page PNG took twice
# as long again.
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "browser-screenshots"
TAKE_SCREENSHOTS = os.environ.get("LEVQOR_SCREENSHOTS", "") not in ("", "0")


def screenshot(page, name: str) -> None:
    if not TAKE_SCREENSHOTS:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.jpg"), full_page=True, type="jpeg", quality=80)


def sign_in(context, live_server, user) -> None:
    """Give the browser a session for `user`, as the magic link would."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}])


def customer_world(customer) -> list[str]:
    """The customer's own records, and every customer page that shows them."""
    from levqor.api.models import ApiKey
    from levqor.api.services import api_key_create
    from levqor.workflows import services as workflows
    from support import rules
    from support import services as support

    account = customer.account
    workflow = workflows.workflow_create(
        account=account,
        sandbox=True,
        name="Lead intake",
        input_schema={"type": "object", "properties": {"email": {"type": "string"}}},
        steps=[{"type": "transform", "name": "greet", "set": {"subject": "Hello {{email}}"}}],
        actor=customer,
    )
    run = workflows.run_start(workflow=workflow, payload={"email": "ada@example.com"}, actor=customer)
    key = api_key_create(account=account, name="CRM sync", mode=ApiKey.Mode.LIVE, actor=customer).key
    today = timezone.now().astimezone(UTC).date()
    credit = support.sla_request_file(
        account=account,
        user=customer,
        plan=account.plan,
        period=rules.month_period(rules.add_months(today.replace(day=1), -1)),
        impact="major",
        description="The console was down for an afternoon.",
        actor=customer,
    )
    dispute = support.dispute_open(
        account=account,
        user=customer,
        category="billing",
        subject="Charged twice",
        description="Two charges for October.",
        actor=customer,
    )
    return [
        "/account",
        "/billing",
        "/account/workflows",
        "/account/workflows?mode=sandbox",
        "/account/workflows/new",
        f"/account/workflows/{workflow.pk}",
        f"/account/workflows/{workflow.pk}/edit",
        f"/account/workflows/{workflow.pk}/delete",
        f"/account/runs/{run.pk}",
        "/account/api-keys",
        f"/account/api-keys/{key.pk}/revoke",
        "/sla-credits",
        f"/sla-credits/{credit.pk}",
        "/disputes",
        f"/disputes/{dispute.pk}",
        "/data-requests",
        "/privacy-tools/opt-out",
        "/cookies",
        "/marketing/subscribe",
    ]


def slug(path: str) -> str:
    return path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "home"
