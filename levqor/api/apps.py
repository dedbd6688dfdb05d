from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "levqor.api"
    label = "api"
    verbose_name = "Developer API"

    def ready(self) -> None:
        # Registers the API-key security scheme with drf-spectacular, whose
        # extensions import DRF's settings: only once every app is loaded.
        from . import schema  # noqa: F401
