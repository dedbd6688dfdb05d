from django.apps import AppConfig

from levqor.lib import attention


class WorkflowsConfig(AppConfig):
    name = "levqor.workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import listcache, selectors  # imports models: only once the app registry is ready
        from .models import Workflow

        # The cached list pages (Redis) are outdated by any save or delete of
        # one of the account's workflows; services writing with update() call
        # listcache too.
        def workflow_changed(sender, instance, **kwargs):
            listcache.account_forget(instance.account_id)

        post_save.connect(workflow_changed, sender=Workflow, weak=False, dispatch_uid="workflows.listcache.saved")
        post_delete.connect(workflow_changed, sender=Workflow, weak=False, dispatch_uid="workflows.listcache.deleted")

        attention.register(
            "Live workflow runs failed in the last 24 h",
            count=selectors.failed_run_count_last_day,
            url_name="admin:workflows_run_changelist",
            query="status=failed_live",
        )
