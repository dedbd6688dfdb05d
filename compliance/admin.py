import csv

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from levqor.lib.admin import (
    DefaultStatusFilter,
    EstimatedCountPaginator,
    IndexedValuesFilter,
    KeepRecordsMixin,
    ReadOnlyAdmin,
    confirm_action,
)

from . import audit, dashboard, screening, terms, terms_markup
from .dsar import processing
from .dsar.admin import DataExportAdmin, ErasureRequestAdmin  # noqa: F401 - registers the data-request admins
from .models import (
    AbuseSignal,
    AuditEvent,
    CookieConsent,
    MarketingSubscription,
    Objection,
    ScreeningAppeal,
    ScreeningBlock,
    ScreeningRule,
    TermsAcceptance,
    TermsVersion,
)
from .outbox.admin import OutboundEmailAdmin  # noqa: F401 - registers the outbox's admin


class AuditActionFilter(IndexedValuesFilter):
    title = "action"
    field = "action"
    parameter_name = "action__exact"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is written by services, never by hand."""

    list_display = ("seq", "occurred_at", "actor_label", "action", "target", "correlation")
    # No date_hierarchy and no plain ("action",) filter: on millions of rows
    # each reads the whole table (SELECT DISTINCT) on every page view.
    list_filter = (("occurred_at", admin.DateFieldListFilter), AuditActionFilter)
    search_fields = ("action", "actor_label", "target_id", "correlation_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 100
    fields = (
        "seq",
        "occurred_at",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "details",
        "details_erased_at",
        "correlation_id",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description="correlation id", ordering="correlation_id")
    def correlation(self, obj):
        # The first 12 characters identify a request; the whole id is on
        # hover, on the entry's page and searchable. The list fits 1400 px.
        if not obj.correlation_id:
            return "-"
        return format_html('<span title="{}">{}…</span>', obj.correlation_id, obj.correlation_id[:12])


def dashboard_view(request):
    """The compliance dashboard: figures staff check, on one page."""
    context = {
        **admin.site.each_context(request),
        "title": "Compliance dashboard",
        "sections": dashboard.dashboard_data(),
        "generated_at": timezone.now(),
    }
    return TemplateResponse(request, "compliance/admin_dashboard.html", context)


def records_of_processing_view(request):
    """Records of processing (GDPR art. 30), as a table or a download."""
    rows = processing.records()
    wanted = request.GET.get("format")
    if wanted in ("csv", "md"):
        body = processing.as_csv(rows) if wanted == "csv" else processing.as_markdown(rows)
        response = HttpResponse(body, content_type="text/csv" if wanted == "csv" else "text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="records-of-processing.{wanted}"'
        return response
    context = {
        **admin.site.each_context(request),
        "title": "Records of processing",
        "controller": processing.CONTROLLER,
        "columns": processing.COLUMNS,
        "rows": [[row[column] for column in processing.COLUMNS] for row in rows],
        "processors": processing.PROCESSORS,
    }
    return TemplateResponse(request, "compliance/admin_records_of_processing.html", context)


@admin.register(CookieConsent)
class CookieConsentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "consent_id", "user", "functional", "analytics", "marketing", "mechanism")
    list_filter = ("mechanism", "banner_version", "analytics", "marketing")
    search_fields = ("consent_id", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ["export_csv"]

    @admin.action(description="Export selected consent records (CSV)")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="cookie-consents.csv"'
        writer = csv.writer(response)
        writer.writerow(
            ["created_at", "consent_id", "user", "functional", "analytics", "marketing", "version", "mechanism"]
        )
        rows = queryset.select_related("user").order_by("created_at")
        for c in rows:
            writer.writerow(
                [
                    c.created_at.isoformat(),
                    c.consent_id,
                    c.user.email if c.user else "",
                    c.functional,
                    c.analytics,
                    c.marketing,
                    c.banner_version,
                    c.mechanism,
                ]
            )
        audit.record(actor=request.user, action="consent.exported", details={"rows": rows.count()})
        return response


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
    """The text is the whole /terms document (compliance/terms_markup.py).
    A published version is evidence of what customers accepted: frozen; a
    change is a new version, started from a copy of the old one."""

    list_display = ("version", "created_at", "published_at", "acceptances")
    fields = ("version", "text", "changelog", "created_at", "published_at", "published_by", "fingerprint", "page")
    readonly_fields = ("created_at", "published_at", "published_by", "fingerprint", "page")
    actions = ["publish"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(acceptance_count=Count("acceptances"))

    @admin.display(description="Accepted by", ordering="acceptance_count")
    def acceptances(self, obj):
        return obj.acceptance_count

    @admin.display(description="SHA-256 of the text")
    def fingerprint(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        other = terms.terms_acceptances_of_other_text(version=obj)
        if other:
            return format_html(
                "{}<br><strong>{} acceptance(s) were of a different text: this version was edited after "
                "people accepted it.</strong>",
                obj.text_sha256,
                other,
            )
        return obj.text_sha256

    @admin.display(description="Page")
    def page(self, obj):
        if obj is None or not obj.is_published:
            problems = terms_markup.problems(obj.text) if obj is not None and obj.pk else []
            return "; ".join(problems) if problems else "Not published."
        url = reverse("pages:terms_version", args=[obj.version])
        copy = reverse("admin:compliance_termsversion_add") + f"?copy_of={obj.pk}"
        return format_html('<a href="{}">{}</a> · <a href="{}">Make a new version from this one</a>', url, url, copy)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        source = TermsVersion.objects.filter(pk=request.GET.get("copy_of") or None).first()
        if source is not None:
            initial.pop("copy_of", None)
            initial.update(text=source.text, changelog="")
        return initial

    def has_change_permission(self, request, obj=None):
        # A published version is evidence of what customers accepted: frozen
        # (TermsVersion.save refuses too). Its page offers a copy to edit.
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Publish (customers must accept it; they are emailed)…")
    def publish(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Publish terms of service",
            consequence="Every customer is emailed, and must accept this version before using the site again "
            "(from its effective date). A published version cannot be withdrawn.",
            button="Publish and email every customer",
            irreversible=True,
            apply=lambda version, data: terms.terms_version_publish(version=version, actor=request.user),
        )


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("accepted_at", "user", "version", "ip_address", "mechanism")
    fields = ("accepted_at", "user", "version", "text_sha256", "ip_address", "user_agent", "mechanism")
    readonly_fields = fields
    list_filter = ("version", "mechanism")
    search_fields = ("user__email",)
    list_select_related = ("user", "version")
    date_hierarchy = "accepted_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(MarketingSubscription)
class MarketingSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("email", "status", "created_at", "confirmed_at", "unsubscribed_at", "source")
    list_filter = ("status", "source")
    search_fields = ("email",)
    date_hierarchy = "created_at"
    exclude = ("confirm_token_hash",)


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("email", "kind", "active", "source", "updated_at")
    list_filter = ("kind", "active", "source")
    search_fields = ("email",)


@admin.register(ScreeningRule)
class ScreeningRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "kind", "severity", "is_active", "updated_at")
    list_filter = ("category", "severity", "kind", "is_active")
    search_fields = ("name", "pattern", "description")
    list_editable = ("is_active",)


class AppealInline(KeepRecordsMixin, admin.StackedInline):
    model = ScreeningAppeal
    extra = 0
    readonly_fields = ("submitted_by", "explanation", "status", "decided_by", "decided_at", "decision_note")


@admin.register(ScreeningBlock)
class ScreeningBlockAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account_label", "kind", "status", "reason")
    list_filter = ("status", "kind")
    search_fields = ("account_label", "fingerprint")
    date_hierarchy = "created_at"
    inlines = [AppealInline]


class AppealStatusFilter(DefaultStatusFilter):
    """Defaults to what needs a decision."""

    options = ScreeningAppeal.Status.choices
    default = ScreeningAppeal.Status.PENDING


@admin.register(ScreeningAppeal)
class ScreeningAppealAdmin(KeepRecordsMixin, admin.ModelAdmin):
    list_display = ("created_at", "block_account", "block_kind", "status", "decided_by", "decided_at")
    list_filter = (AppealStatusFilter,)
    search_fields = ("block__account_label", "submitted_by__email", "explanation")
    list_select_related = ("block", "decided_by")
    # Decided only through the actions below, which call the service (audited, emailed).
    readonly_fields = (
        "block",
        "submitted_by",
        "explanation",
        "status",
        "decided_by",
        "decided_at",
        "decision_note",
        "created_at",
    )
    actions = ["approve", "reject"]

    @admin.display(description="Account")
    def block_account(self, obj):
        return obj.block.account_label

    @admin.display(description="What")
    def block_kind(self, obj):
        return obj.block.kind

    def _decide(self, request, queryset, approve: bool):
        decided = sum(screening.appeal_decide(appeal=a, approve=approve, actor=request.user) for a in queryset)
        self.message_user(request, f"{decided} appeal(s) {'approved' if approve else 'rejected'}.", messages.SUCCESS)

    @admin.action(description="Approve: allow the payload for that account")
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description="Reject: keep the block")
    def reject(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(AbuseSignal)
class AbuseSignalAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "identifier_hash", "count")
    list_filter = ("kind",)
    search_fields = ("identifier_hash",)
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
