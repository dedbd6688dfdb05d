from django.core.management.base import BaseCommand, CommandError

from compliance import audit


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero at the first broken link. Read-only."

    def handle(self, *args, **options):
        result = audit.verify()
        if not result.ok:
            raise CommandError(result.describe())
        self.stdout.write(self.style.SUCCESS(result.describe()))
