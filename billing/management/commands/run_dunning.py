from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing import dunning, stages


class Command(BaseCommand):
    help = (
        f"Advance every due dunning case ({stages.ladder_summary()}) and re-send emails a crashed worker "
        "claimed but never sent. Safe to run twice or on several machines at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what is due, change and send nothing")
        parser.add_argument("--now", default="", help="ISO date-time to act as the current time (testing, catch-up)")
        parser.add_argument("--batch-size", type=int, default=1000, help="cases per transaction (default 1000)")

    def handle(self, *args, dry_run, now, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        when = None
        if now:
            try:
                when = datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(f"--now {now!r} is not an ISO date-time (e.g. 2026-11-22T09:00:00+00:00).") from None
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        result = dunning.dunning_run(now=when, dry_run=dry_run, batch_size=batch_size)
        self.stdout.write(result.describe(dry_run=dry_run))
