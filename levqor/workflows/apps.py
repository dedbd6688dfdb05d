from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "levqor.workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from levqor import attention

        from . import selectors

        attention.register(
            "Live workflow runs failed in the last 24 h",
            count=selectors.failed_run_count_last_day,
            url_name="admin:workflows_run_changelist",
            query="status=failed_live",
        )
