from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        import stripe
        from django.conf import settings

        if getattr(settings, "STRIPE_API_HOST", None):
            # dj-stripe points the API at this host; file uploads (chargeback
            # evidence) go to `upload_api_base`, which it leaves at files.stripe.com.
            stripe.upload_api_base = settings.STRIPE_API_HOST
        # Models and the modules that import them load only after every app's
        # AppConfig: these imports have to wait for ready().
        from django.db.models.signals import post_save

        from compliance.outbox import kinds
        from levqor.accounts.models import Account
        from levqor.lib import attention, backlogs, banners

        from . import expiry, linking, notices, selectors, views, webhooks  # noqa: F401 - connects the dj-stripe receivers

        banners.register("billing.paused", views.paused_banner)
        # Dunning emails: recipient and content decided when they leave, and
        # dropped if what they say no longer holds (a case paid meanwhile).
        kinds.register(notices.KIND, prepare=notices.dunning_email_prepare)
        # Card-expiry reminders: dropped if the card was replaced meanwhile.
        kinds.register(expiry.KIND, prepare=expiry.card_expiring_prepare)
        backlogs.register(
            "dunning_due",
            count=selectors.case_due_today_count,
            description="Dunning cases whose next reminder is due by the end of today.",
        )
        # Staff link a Stripe customer by setting it on the account (accounts
        # admin): apply the events kept unmatched for that customer.
        post_save.connect(linking.on_account_saved, sender=Account, dispatch_uid="billing.account_saved")
        attention.register(
            "Dunning cases due today",
            count=selectors.case_due_today_count,
            url_name="admin:billing_dunningcase_changelist",
            query="status=pending&due=today",
        )
        attention.register(
            "Recovery analytics (recovery rate, time to recover, revenue at risk, decline codes)",
            count=lambda: 0,
            url_name="admin:billing_recovery_analytics",
        )
        attention.register(
            "Stripe events failed",
            count=selectors.event_failed_count,
            url_name="admin:billing_stripeevent_changelist",
            query="status=failed",
        )
        attention.register(
            "Stripe events not processed within 15 minutes",
            count=selectors.event_stuck_count,
            url_name="admin:billing_stripeevent_changelist",
            query="status=stuck",
        )
        attention.register(
            "Stripe events unmatched (customer not linked or case not open)",
            count=selectors.event_unmatched_count,
            url_name="admin:billing_stripeevent_changelist",
            query="status=unmatched",
        )
