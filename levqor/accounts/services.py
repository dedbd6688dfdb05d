import logging
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from sesame.backends import ModelBackend as SesameBackend
from sesame.utils import get_query_string

from compliance import audit
from compliance.outbox import kinds
from compliance.outbox.services import email_queue
from levqor.plans import TRIAL_DAYS, plan_by_code

from .models import Account, User

logger = logging.getLogger(__name__)


@transaction.atomic
def account_create(
    *,
    name: str,
    plan: str,
    owner_email: str,
    owner_name: str = "",
    billing_interval: str = Account.Interval.MONTHLY,
    billing_state: str = Account.BillingState.TRIALING,
    actor: User | None,
) -> Account:
    """Create an account and its first user. Audited. Not idempotent: callers
    that may repeat (seeding) look the account up first."""
    plan_by_code(plan)  # raises ValueError for an unknown plan
    trial_ends_at = None
    if billing_state == Account.BillingState.TRIALING:
        trial_ends_at = timezone.now() + timezone.timedelta(days=TRIAL_DAYS)
    account = Account.objects.create(
        name=name,
        plan=plan,
        billing_interval=billing_interval,
        billing_state=billing_state,
        trial_ends_at=trial_ends_at,
    )
    User.objects.create_user(email=owner_email, name=owner_name, account=account)
    audit.record(
        actor=actor,
        action="account.created",
        target=account,
        details={"plan": plan, "billing_state": billing_state, "owner_email": owner_email},
    )
    return account


@transaction.atomic
def account_set_billing_state(*, account: Account, state: str, reason: str, actor: User | None) -> bool:
    """Move an account to a billing state. Returns False (and writes nothing)
    when it is already there, so repeating it has one effect."""
    if state not in Account.BillingState.values:
        raise ValueError(f"Unknown billing state {state!r}.")
    changed = (
        Account.objects.filter(pk=account.pk)
        .exclude(billing_state=state)
        .update(billing_state=state, updated_at=timezone.now())
    )
    if not changed:
        return False
    previous = account.billing_state
    account.refresh_from_db(fields=["billing_state", "updated_at"])
    audit.record(
        actor=actor,
        action="account.billing_state_changed",
        target=account,
        details={"from": previous, "to": state, "reason": reason},
    )
    return True


def account_set_plan(*, account: Account, plan: str, interval: str, reason: str, actor: User | None) -> bool:
    """Move an account to a plan and billing interval from the locked
    catalogue (its SLA hours and API quota follow). Returns False (and
    writes nothing) when it is already on them. Audited."""
    plan_by_code(plan)  # raises for a code not in the catalogue
    if interval not in Account.Interval.values:
        raise ValueError(f"Unknown billing interval {interval!r}.")
    previous = {"plan": account.plan, "interval": account.billing_interval}
    changed = (
        Account.objects.filter(pk=account.pk)
        .exclude(plan=plan, billing_interval=interval)
        .update(plan=plan, billing_interval=interval, updated_at=timezone.now())
    )
    if not changed:
        return False
    account.refresh_from_db(fields=["plan", "billing_interval", "updated_at"])
    audit.record(
        actor=actor,
        action="account.plan_changed",
        target=account,
        details={"from": previous, "to": {"plan": plan, "interval": interval}, "reason": reason},
    )
    return True


def user_for_login(email: str) -> User | None:
    """The customer a sign-in link may be sent to, if any."""
    return (
        User.objects.filter(email__iexact=email.strip(), is_active=True, account__isnull=False)
        .select_related("account")
        .first()
    )


@transaction.atomic
def login_link_send(*, email: str, next_url: str = "") -> bool:
    """Email a one-time sign-in link if the address belongs to a customer.
    Returns whether a link was sent; callers must not reveal it."""
    user = user_for_login(email)
    if user is None:
        logger.info("sign-in link requested for an unknown address")
        return False
    link = settings.LEVQOR_BASE_URL + reverse("accounts:magic") + get_query_string(user)
    if next_url:
        link += "&next=" + quote(next_url, safe="/")
    minutes = settings.SESAME_MAX_AGE // 60
    audit.record(actor=user, action="auth.login_link_sent", target=user, details={})
    email_queue(
        kind="accounts.sign-in-link",
        about=user,
        stage=timezone.now().isoformat(),  # every request gets its own link
        template="magic-link",
        to=user.email,
        context={"link": link, "minutes": minutes},
        objects={"user": user},
        sensitive=True,  # the link signs in: the outbox forgets it once sent
        requested=True,  # asked for just now: sent even to a suppressed address
    )
    return True


def login_link_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: a sign-in link that could not be sent before it expired
    is dropped, not sent late (the person has asked again by then)."""
    if timezone.now() - email.created_at >= timedelta(seconds=settings.SESAME_MAX_AGE):
        raise kinds.Drop("the sign-in link expired before it could be sent")
    return kinds.Prepared(to=email.to)


def login_token_user(*, token: str) -> User | None:
    """The user a sign-in token is valid for now, without spending it.

    Asks django-sesame's backend directly rather than through
    `django.contrib.auth.authenticate`: that sends `user_login_failed` with
    no request for every bad token, which django-axes logs as two ERROR
    lines and cannot count. Failed links are counted by the sign-in view,
    once, with the request (compliance.lockout.sign_in_failed)."""
    if not token:
        return None
    return SesameBackend().authenticate(None, sesame=token)


@transaction.atomic
def login_token_spend(*, token: str) -> User | None:
    """Check a sign-in token and spend it: returns the user once, then None.
    Two requests racing with one token cannot both succeed: the user row is
    locked and the token re-checked after the lock (it embeds last_login)."""
    candidate = login_token_user(token=token)
    if candidate is None:
        return None
    User.objects.select_for_update().filter(pk=candidate.pk).first()
    user = login_token_user(token=token)
    if user is None:
        return None
    user.last_login = timezone.now()  # spends the token
    user.save(update_fields=["last_login"])
    audit.record(actor=user, action="auth.signed_in", target=user, details={"method": "magic_link"})
    return user
