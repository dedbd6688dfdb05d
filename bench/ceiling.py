"""The ceiling: a bare Django project (no apps, no middleware, no database)
whose one view answers a small JSON body. `make bench` serves it with the
same gunicorn settings as the console and gives every hot path as a ratio
of it, so the figures say how close the project comes to what Django itself
can do on this machine, whatever the machine.

    gunicorn bench.ceiling:application
"""

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-ceiling-only",  # noqa: S106 - serves one constant answer
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_TZ=True,
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def ceiling(request):
    return JsonResponse({"status": "ok", "ceiling": True})


urlpatterns = [path("-/ping", ceiling), path("ceiling", ceiling)]

application = get_wsgi_application()
