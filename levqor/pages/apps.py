from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "levqor.pages"
    label = "pages"
    verbose_name = "Public pages"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the locked-facts check (it renders a template: apps must be ready)
