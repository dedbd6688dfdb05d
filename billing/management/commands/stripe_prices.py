from django.core.management.base import BaseCommand, CommandError

from billing.catalogue import CatalogueError, prices_ensure


class Command(BaseCommand):
    help = (
        "Find or create the Stripe product and price of every plan and interval (recurring) and every DFY tier "
        "(one-off) of the locked catalogue (levqor/plans.py), by lookup key levqor_<plan>_<interval> or "
        "levqor_dfy_<tier>. Fails if a Stripe price differs from the catalogue. Idempotent; --dry-run only reports."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dry_run, **options):
        try:
            results = prices_ensure(dry_run=dry_run)
        except CatalogueError as exc:
            raise CommandError(str(exc)) from None
        for key, price_id, what in results:
            self.stdout.write(f"{key}\t{price_id or '-'}\t{what}")
