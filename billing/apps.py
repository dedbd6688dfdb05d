from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from levqor import attention, banners

        from . import selectors, views, webhooks  # noqa: F401 - connects the dj-stripe receivers

        banners.register("billing.paused", views.paused_banner)
        attention.register(
            "Dunning cases due today",
            count=selectors.case_due_today_count,
            url_name="admin:billing_dunningcase_changelist",
            query="status=pending&due=today",
        )
