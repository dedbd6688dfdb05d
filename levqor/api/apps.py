from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "levqor.api"
    label = "api"
    verbose_name = "Developer API"
