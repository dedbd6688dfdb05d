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
        from . import attention, emails, plans  # noqa: F401 - plans registers the locked-facts check

        attention.register(
            "Emails that failed to send",
            count=emails.email_failure_open_count,
            url_name="admin:levqor_emailfailure_changelist",
            query="status=open",
        )
        attention.register(
            "Background tasks failed",
            count=_task_failure_count,
            url_name="admin:django_q_failure_changelist",
        )


def _task_failure_count() -> int:
    """django-q2 tasks that raised (or timed out) and were not resubmitted:
    the admin's "Resubmit" action removes a failure as it queues it again."""
    from django_q.models import Failure

    return Failure.objects.count()
