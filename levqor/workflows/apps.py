from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "levqor.workflows"
    label = "workflows"
    verbose_name = "Workflows"
