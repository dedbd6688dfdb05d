"""The site's URLs plus one view that fails, to drive the 500 page through
the real request cycle."""

from django.urls import path

from levqor.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def broken(request):
    raise RuntimeError("secret internals: sk_live_do_not_show")


urlpatterns = [path("boom", broken), *urlpatterns]
