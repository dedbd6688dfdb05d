from django.core.management.base import BaseCommand

from status import services


class Command(BaseCommand):
    help = (
        "Run from cron every minute, outside the task queue: alert on-call (LEVQOR_ONCALL_EMAILS, "
        "LEVQOR_ONCALL_WEBHOOK_URL) when a component is down or monitoring is stale (the worker heartbeat or the "
        "snapshots stopped), and when it recovers; retry on-call webhooks and emails that failed. Each change of "
        "state is alerted once, however often this runs. Safe to run twice."
    )

    def handle(self, *args, **options):
        result = services.watchdog_run(raised_by="watchdog")
        self.stdout.write(f"Alerts raised: {result['raised']}. Deliveries retried and sent: {result['retried']}.")
