"""The project's URLs plus one view that fails, to make a real 500."""

from django.urls import path

from levqor.urls import handler400, handler403, handler404, handler500  # noqa: F401
from levqor.urls import urlpatterns as project


def boom(request):
    raise RuntimeError("a deliberate failure for the error counter")


urlpatterns = [path("test/boom", boom), *project]
