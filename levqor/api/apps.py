from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "levqor.api"
    label = "api"
    verbose_name = "Developer API"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the API-key security scheme with drf-spectacular
