from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps

from levqor.lib import attention


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
        attention.register(
            "Background tasks failed",
            count=_task_failure_count,
            url_name="admin:django_q_failure_changelist",
        )


def _task_failure_count() -> int:
    """django-q2 tasks that raised (or timed out) and were not resubmitted:
    the admin's "Resubmit" action removes a failure as it queues it again."""
    from django_q.models import Failure  # apps.py is imported before models may be

    return Failure.objects.count()
