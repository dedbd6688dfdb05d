import importlib.util
import os

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from levqor.accounts.models import Account, User
from levqor.accounts.services import account_create

DEFAULT_ADMIN_EMAIL = "admin@levqor.local"
DEMO_ADMIN_PASSWORD = "levqor-demo-admin"  # noqa: S105 - printed on purpose, DEBUG only

# Each app that has demo data provides `seed(*, admin, stdout)` in its
# `demo` module; they run in this order (later ones may use earlier data)
# and each must be idempotent. Modules that create accounts come before the
# ones that give every account something (workflows, keys, data requests):
# otherwise a second run would find new accounts and seed them then.
DEMO_MODULES = (
    "billing.demo",
    "status.demo",
    "support.demo",
    "levqor.workflows.demo",
    "levqor.api.demo",
    "compliance.demo",
    "compliance.dsar.demo",
)

# (name, plan, interval, billing state, owner email): every plan and every billing state.
DEMO_ACCOUNTS = (
    ("Starter Demo Ltd", "starter", "monthly", "trialing", "starter@demo.levqor.local"),
    ("Growth Demo Ltd", "growth", "monthly", "active", "growth@demo.levqor.local"),
    ("Pro Demo Ltd", "pro", "yearly", "active", "pro@demo.levqor.local"),
    ("Business Demo Ltd", "business", "monthly", "active", "business@demo.levqor.local"),
    ("Overdue Demo Ltd", "growth", "monthly", "paused_billing", "overdue@demo.levqor.local"),
    ("Former Demo Ltd", "starter", "monthly", "canceled", "former@demo.levqor.local"),
)


class Command(BaseCommand):
    help = (
        "Fill a demo world: a superuser and accounts on every plan and billing state. "
        "Idempotent: running it again creates nothing new. Prints how many rows of each kind it created."
    )

    def handle(self, *args, **options):
        before = _row_counts()
        self._seed()
        created = {label: count - before.get(label, 0) for label, count in _row_counts().items()}
        created = {label: count for label, count in created.items() if count}
        for label, count in sorted(created.items()):
            self.stdout.write(f"  {label}: {count} created")
        # CI greps "Demo world ready: 0 created" on the second run.
        self.stdout.write(self.style.SUCCESS(f"Demo world ready: {sum(created.values())} created in total."))

    def _seed(self):
        email = os.environ.get("LEVQOR_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL).strip().lower()
        password = os.environ.get("LEVQOR_ADMIN_PASSWORD", "")
        if not password:
            if not settings.DEBUG:
                raise CommandError("Set LEVQOR_ADMIN_PASSWORD: the demo password is only used with DEBUG on.")
            password = DEMO_ADMIN_PASSWORD

        with transaction.atomic():
            admin, admin_created = User.objects.get_or_create(
                email=email, defaults={"is_staff": True, "is_superuser": True, "name": "Levqor Admin"}
            )
            if not (admin.is_staff and admin.is_superuser and admin.check_password(password)):
                admin.is_staff = admin.is_superuser = admin.is_active = True
                admin.set_password(password)
                admin.save()

            created = 0
            for name, plan, interval, state, owner in DEMO_ACCOUNTS:
                if Account.objects.filter(name=name).exists():
                    continue
                account_create(
                    name=name,
                    plan=plan,
                    owner_email=owner,
                    owner_name=name.replace(" Ltd", " owner"),
                    billing_interval=interval,
                    billing_state=state,
                    actor=admin,
                )
                created += 1

        for module in DEMO_MODULES:
            if importlib.util.find_spec(module) is None:
                continue  # that app has no demo data (yet)
            seed = import_string(f"{module}.seed")
            with transaction.atomic():
                seed(admin=admin, stdout=self.stdout)

        self.stdout.write(f"Accounts: {created} accounts created, {len(DEMO_ACCOUNTS) - created} already there.")
        self.stdout.write(f"Admin login: {email} / {password}")
        self.stdout.write(
            "Customer logins (magic link, printed to the console): " + ", ".join(a[4] for a in DEMO_ACCOUNTS)
        )


def _row_counts() -> dict[str, int]:
    """Rows per model, every installed app: what a run created is the difference."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}
