from django.apps import AppConfig
from django.db.models.signals import post_migrate

from levqor.lib import attention, backlogs

# The app's own modules are imported in functions below: they import models,
# which Django loads only after every AppConfig module.


def _install_default_rules(sender, **kwargs):
    from .screening import ensure_default_rules  # imports models: see the note above

    ensure_default_rules()


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # Imported here, not at the top: see the note above.
        from . import abuse, lockout
        from .dsar import erasure, privacy_requests
        from .dsar.models import DataExport
        from .models import ScreeningAppeal
        from .outbox import selectors as outbox

        backlogs.register(
            "data_requests_open",
            count=lambda: (
                DataExport.objects.filter(completed_at__isnull=True).count() + erasure.erasures_open().count()
            ),
            description="Data exports not yet answered and erasure requests not yet done.",
        )

        # Default screening rules after every migrate (adds only missing ones).
        post_migrate.connect(_install_default_rules, sender=self, dispatch_uid="compliance-default-rules")

        attention.register(
            "High-risk data appeals awaiting review",
            count=lambda: ScreeningAppeal.objects.filter(status=ScreeningAppeal.Status.PENDING).count(),
            url_name="admin:compliance_screeningappeal_changelist",
        )
        attention.register(
            "Privacy requests awaiting staff",
            count=lambda: privacy_requests.privacy_requests_awaiting_staff().count(),
            url_name="admin:compliance_privacyrequest_changelist",
            query="status__exact=pending",
        )
        attention.register(
            "Emails that failed (retries used up)",
            count=outbox.failed_count,
            url_name="admin:compliance_outboundemail_changelist",
            query="state=failed",
        )
        attention.register(
            "Emails failing, being retried",
            count=outbox.retrying_count,
            url_name="admin:compliance_outboundemail_changelist",
            query="state=retrying",
        )
        attention.register(
            "Abuse signals in the last 24 hours",
            count=abuse.abuse_signal_count,
            url_name="admin:compliance_abusesignal_changelist",
        )
        attention.register(
            "Sign-in lockouts in force",
            count=lockout.locked_out_count,
            url_name="admin:axes_accessfailurelog_changelist",
            query="locked_out__exact=1",
        )
        attention.register_dashboard(
            "Compliance dashboard",
            url_name="compliance_dashboard",
            description="Terms acceptance, consent, opt-outs, screening, DSAR backlog and the audit chain.",
        )
        attention.register_dashboard(
            "Records of processing (GDPR art. 30)",
            url_name="records_of_processing",
            description="What personal data we process, why, on what basis, for how long, and who receives it.",
        )
