import importlib.util
import os

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
# and each must be idempotent.
DEMO_MODULES = (
    "levqor.workflows.demo",
    "levqor.api.demo",
    "billing.demo",
    "status.demo",
    "support.demo",
    "compliance.demo",
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
        "Idempotent: running it again creates nothing new."
    )

    def handle(self, *args, **options):
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

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo world ready: {created} accounts created, {len(DEMO_ACCOUNTS) - created} already there."
            )
        )
        self.stdout.write(f"Admin login: {email} / {password}")
        self.stdout.write(
            "Customer logins (magic link, printed to the console): " + ", ".join(a[4] for a in DEMO_ACCOUNTS)
        )
