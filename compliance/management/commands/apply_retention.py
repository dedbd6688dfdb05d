from django.core.management.base import BaseCommand

from compliance.dsar import retention


class Command(BaseCommand):
    help = (
        "Apply the retention policy (LEVQOR_RETENTION_DAYS): delete or blank data past its time. "
        "With --dry-run, print what would go and change nothing. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")

    def handle(self, *args, dry_run=False, **options):
        outcomes = retention.retention_apply(dry_run=dry_run)
        verb = "would go" if dry_run else "removed"
        for outcome in outcomes:
            by = ", ".join(f"{name} {count}" for name, count in outcome.counts.items()) or "no provider"
            self.stdout.write(
                f"{outcome.kind:<22} keep {outcome.days:>5} days (before {outcome.cutoff:%Y-%m-%d %H:%M}): "
                f"{outcome.total} {verb} ({by}) - {retention.KINDS.get(outcome.kind, '')}"
            )
        total = sum(o.total for o in outcomes)
        self.stdout.write(self.style.SUCCESS(f"{'Dry run: ' if dry_run else ''}{total} item(s) {verb} in all."))
