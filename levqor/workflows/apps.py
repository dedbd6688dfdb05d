from django.apps import AppConfig

from levqor.lib import attention


class WorkflowsConfig(AppConfig):
    name = "levqor.workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from . import selectors  # imports models: only once the app registry is ready

        attention.register(
            "Live workflow runs failed in the last 24 h",
            count=selectors.failed_run_count_last_day,
            url_name="admin:workflows_run_changelist",
            query="status=failed_live",
        )
