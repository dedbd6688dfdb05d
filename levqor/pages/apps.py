from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "levqor.pages"
    label = "pages"
    verbose_name = "Public pages"

    def ready(self) -> None:
        # Registers the locked-facts check. Imported here, as Django advises for
        # checks: it imports the views, which may import models.
        from . import checks  # noqa: F401
