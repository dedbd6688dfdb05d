from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "levqor.assist"
    label = "assist"
    verbose_name = "AI assist"
