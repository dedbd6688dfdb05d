import logging

from django.utils import timezone

from .counters import bump
from .models import ServerErrorCount

logger = logging.getLogger(__name__)


class ServerErrorCountMiddleware:
    """Count every 5xx answer in the database, per minute, so the figure is
    the same whichever web process is asked. Costs nothing on a 2xx-4xx."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 500:
            try:
                bump(ServerErrorCount, minute=timezone.now().replace(second=0, microsecond=0))
            except Exception:  # the database may be why we failed: never fail the answer over the count
                logger.exception("could not count a server error")
        return response
