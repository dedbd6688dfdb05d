from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from status import services
from status.models import StatusApiKey


class Command(BaseCommand):
    help = (
        "Create a staff key for the Statuspage-compatible status API (/api/v1/) and print it once "
        "(only its hash is stored). Send it as `Authorization: OAuth <key>`. Revoke it in "
        "Admin → Status → Status API keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="who or what will use the key, e.g. 'CI pipeline'")
        parser.add_argument(
            "--scope",
            default=StatusApiKey.Scope.WRITE,
            help="read (GET only) or write (everything; the default)",
        )

    def handle(self, *args, **options):
        try:
            issued = services.status_api_key_create(name=options["name"], scope=options["scope"], actor=None)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        key = issued.key
        self.stdout.write(f"Status API key “{key.name}” ({key.scope}), prefix {key.prefix}…")
        self.stdout.write("Copy it now; it is not stored and cannot be shown again:")
        self.stdout.write(issued.secret)
