from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "levqor.pages"
    label = "pages"
    verbose_name = "Public pages"
