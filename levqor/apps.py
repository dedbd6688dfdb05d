from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class LevqorAdminConfig(admin_apps.AdminConfig):
    """Makes Levqor's admin site the default, so every app's
    `@admin.register` lands on it."""

    default = False
    default_site = "levqor.admin_site.LevqorAdminSite"


class LevqorConfig(AppConfig):
    default = True
    name = "levqor"
    verbose_name = "Levqor"

    def ready(self) -> None:
        from . import plans  # noqa: F401 - registers the locked-facts check
