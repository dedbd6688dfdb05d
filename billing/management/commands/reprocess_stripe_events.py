from django.core.management.base import BaseCommand, CommandError

from billing import intake
from billing.models import StripeEvent


class Command(BaseCommand):
    help = (
        "Process stored Stripe events again: --failed (all failed ones, whatever their attempt count), "
        "--unmatched (those kept until their customer is linked or their case opens) and/or --id evt_... "
        "(repeatable). An unmatched event runs billing's handlers again on its stored payload (no Stripe call) and "
        "stays unmatched if it still cannot be applied. Processed events are skipped, so it is safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true")
        parser.add_argument("--unmatched", action="store_true")
        parser.add_argument("--id", action="append", default=[], dest="ids", metavar="EVENT_ID")

    def handle(self, *args, failed, unmatched, ids, **options):
        if not failed and not unmatched and not ids:
            raise CommandError("Give --failed, --unmatched and/or --id evt_...")
        events = StripeEvent.objects.none()
        if failed:
            events |= StripeEvent.objects.filter(status=StripeEvent.Status.FAILED)
        if unmatched:
            events |= StripeEvent.objects.filter(status=StripeEvent.Status.UNMATCHED)
        if ids:
            events |= StripeEvent.objects.filter(stripe_id__in=ids)
        counts: dict[str, int] = {}
        for pk, stripe_id in events.order_by("stripe_created", "pk").values_list("pk", "stripe_id"):
            status = intake.event_reprocess(event_pk=pk)
            counts[status] = counts.get(status, 0) + 1
            self.stdout.write(f"{stripe_id}: {status}")
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "nothing to do"
        self.stdout.write(summary)
        if counts.get(StripeEvent.Status.FAILED):
            raise CommandError(f"{counts[StripeEvent.Status.FAILED]} event(s) failed again; see the admin for errors.")
