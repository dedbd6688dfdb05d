from django.apps import AppConfig
from django.db.models.signals import post_migrate

from levqor.lib import attention

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
        from .models import ScreeningAppeal

        # Default screening rules after every migrate (adds only missing ones).
        post_migrate.connect(_install_default_rules, sender=self, dispatch_uid="compliance-default-rules")

        attention.register(
            "High-risk data appeals awaiting review",
            count=lambda: ScreeningAppeal.objects.filter(status=ScreeningAppeal.Status.PENDING).count(),
            url_name="admin:compliance_screeningappeal_changelist",
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
