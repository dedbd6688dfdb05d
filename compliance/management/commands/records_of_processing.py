from django.core.management.base import BaseCommand

from compliance.dsar import processing


class Command(BaseCommand):
    help = (
        "Print the records of processing activities (GDPR art. 30), generated from every app's privacy "
        "provider, the retention settings and the processors table. Read-only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["md", "csv"], default="md", help="Markdown (default) or CSV.")

    def handle(self, *args, **options):
        rows = processing.records()
        self.stdout.write(
            processing.as_csv(rows) if options["format"] == "csv" else processing.as_markdown(rows), ending=""
        )
