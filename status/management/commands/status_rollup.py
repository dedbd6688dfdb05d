from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from status import services


class Command(BaseCommand):
    help = "Recompute hourly and daily rollups from the stored snapshots (default: the last 3 hours). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=3, help="how many hours back to recompute")

    def handle(self, *args, **options):
        now = timezone.now()
        written = services.rollup_hours(start=now - timedelta(hours=options["hours"] - 1), end=now)
        self.stdout.write(self.style.SUCCESS(f"Rollups: {written} rows written."))
