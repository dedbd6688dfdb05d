from django.core.management.base import BaseCommand

from levqor.lib.schedules import schedules_sync
from levqor.schedules import JOBS


class Command(BaseCommand):
    help = "Make django-q2's schedules match levqor/schedules.py. Idempotent; run on every deploy."

    def handle(self, *args, **options):
        result = schedules_sync(jobs=JOBS)
        for label, names in (
            ("created", result.created),
            ("updated", result.updated),
            ("deleted", result.deleted),
            ("unchanged", result.unchanged),
        ):
            for name in names:
                self.stdout.write(f"{label:>9}  {name}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Schedules in sync: {len(result.created)} created, {len(result.updated)} updated, "
                f"{len(result.deleted)} deleted, {len(result.unchanged)} unchanged."
            )
        )
