from django.core.management.base import BaseCommand

from status import services


class Command(BaseCommand):
    help = (
        "Probe every component and store this 5-minute bucket's snapshot, then roll up the recent hours. "
        "Safe to run twice: a bucket already taken is left alone."
    )

    def handle(self, *args, **options):
        written = services.snapshot_take()
        rolled = services.rollup_recent()
        if written is None:
            self.stdout.write("This 5-minute bucket already has its snapshot; nothing probed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Snapshot stored for {written} components."))
        self.stdout.write(f"Rollups: {rolled} rows written.")
