"""What accounts hold about a person, for DSAR export and erasure (the
privacy provider compliance loads from LEVQOR_PRIVACY_PROVIDERS)."""

from django.contrib.sessions.models import Session
from django.utils import timezone

from compliance.dsar.providers import ExportFile, Processing, Provider

from .models import Account, User
from .services import account_set_billing_state

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox


def user_rows(*, user):
    account = (
        Account.objects.filter(pk=user.account_id)
        .values("id", "name", "plan", "billing_interval", "billing_state", "trial_ends_at", "created_at")
        .first()
    )
    yield {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "is_active": user.is_active,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "account": account,
    }


def sole_member(user) -> bool:
    """Is this person the account's only active user? Then erasing them closes it."""
    if not user.account_id:
        return False
    return not User.objects.filter(account_id=user.account_id, is_active=True).exclude(pk=user.pk).exists()


def erase_user(*, user, actor) -> dict:
    """Anonymise the user row (kept: other records point at it) and, when
    they were its only user, close the account and drop its name. The Stripe
    customer is left to Stripe's own deletion process."""
    closing = sole_member(user)
    summary = {"user_anonymised": 1}
    if closing:
        account = Account.objects.get(pk=user.account_id)
        account_set_billing_state(
            account=account, state=Account.BillingState.CANCELED, reason="erasure request", actor=actor
        )
        Account.objects.filter(pk=account.pk).update(name=f"Erased account #{account.pk}", updated_at=timezone.now())
        summary["account_closed_id"] = account.pk
    user.email = f"erased-{user.pk}@{ERASED_DOMAIN}"
    user.name = ""
    user.is_active = False
    user.set_unusable_password()  # also ends every session (Django checks the password hash)
    user.save(update_fields=["email", "name", "is_active", "password"])
    summary["sessions_deleted"] = _delete_sessions(user)
    return summary


def _delete_sessions(user) -> int:
    """Sessions are opaque blobs: scan the live ones for this user's id."""
    deleted = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            deleted += 1
    return deleted


provider = Provider(
    name="accounts",
    files={
        "user.json": ExportFile(
            "Your profile (email address, name, when you joined and last signed in) and your "
            "organisation's account (name, plan, billing state).",
            rows=user_rows,
        )
    },
    erase=erase_user,
    covers=("accounts.User", "accounts.Account", "sessions.Session"),
    processing=(
        Processing(
            activity="Customer accounts and sign-in",
            subjects="Customers' users",
            data="Name, email address, organisation, plan and billing state, sign-in times and sessions",
            purpose="Provide the service the customer subscribed to",
            legal_basis="Contract (art. 6(1)(b))",
            retention="While the account is open; anonymised on erasure",
            recipients=("Cloud hosting provider", "Resend (email delivery)"),
        ),
    ),
)
