"""Admin for data requests: the DSAR export queue and erasure review.
Imported from compliance/admin.py, the app's admin module that Django loads.
Every view of a request and every action is audited with the staff member
and the request as target."""

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from levqor.lib import attention
from levqor.lib.admin import ReadOnlyMixin, SubsetFilter, confirm_action

from .. import audit, dashboard
from . import erasure, exports, privacy_requests
from .forms import ExtendForm, NoteForm, ReasonForm
from .models import DataExport, ErasureRequest, PrivacyRequest


class OverdueFilter(SubsetFilter):
    """Requests not yet answered, by how close their (extended) deadline is."""

    title = "deadline"
    parameter_name = "deadline"
    options = [("overdue", "Overdue"), ("week", "Due within 7 days"), ("open", "Not yet answered")]

    def subset(self, request, queryset, value):
        if value not in ("overdue", "week", "open"):
            return queryset
        today = timezone.localdate()
        if queryset.model is DataExport:
            queryset = queryset.filter(completed_at__isnull=True)
        elif queryset.model is PrivacyRequest:
            queryset = queryset.filter(status=PrivacyRequest.Status.PENDING)
        else:
            queryset = queryset.filter(status__in=[ErasureRequest.Status.PENDING, ErasureRequest.Status.APPROVED])
        if value == "overdue":
            return queryset.filter(deadline_on__lt=today)
        if value == "week":
            return queryset.filter(deadline_on__range=(today, today + timedelta(days=7)))
        return queryset


def _deadline_cell(obj, done: bool):
    if done:
        return "answered"
    left = obj.days_left()
    if left < 0:
        return format_html('<strong style="color:#b42318">{} days overdue</strong>', -left)
    if left <= 7:
        return format_html('<strong style="color:#b54708">{} days left</strong>', left)
    return f"{left} days left"


def _describe(obj) -> str:
    return f"#{obj.pk}: {obj.user.email}, due {obj.deadline_on:%d %b %Y}, {obj.get_status_display().lower()}"


def _describe_privacy_request(obj) -> str:
    due = f"due {obj.deadline_on:%d %b %Y}" if obj.deadline_on else "not verified"
    return f"#{obj.pk}: {obj.get_kind_display()} for {obj.email or '(address erased)'}, {due}"


class AuditedViewsMixin(ReadOnlyMixin):
    """Audits every list and detail view of these personal-data requests,
    keeps them read-only outside the actions, and gives them their shared
    columns (person, deadline, days left / overdue)."""

    view_action = ""

    def changelist_view(self, request, extra_context=None):
        audit.record(
            actor=request.user,
            action=f"{self.view_action}_list_viewed",
            details={"query": request.GET.urlencode()[:500]},
        )
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET":
            audit.record(actor=request.user, action=f"{self.view_action}_viewed", target=obj, details={})
        return super().change_view(request, object_id, form_url, extra_context)

    # The columns both request queues share; `is_done` says when the
    # statutory clock stops for this kind of request.
    def is_done(self, obj) -> bool:
        raise NotImplementedError

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="deadline", ordering="deadline_on")
    def due(self, obj):
        return obj.deadline_on

    @admin.display(description="days left / overdue")
    def deadline(self, obj):
        return _deadline_cell(obj, done=self.is_done(obj))


@admin.register(DataExport)
class DataExportAdmin(AuditedViewsMixin, admin.ModelAdmin):
    view_action = "dsar.export"
    list_display = ("id", "user_email", "status", "requested_at", "due", "deadline", "completed_at", "link", "attempts")
    list_filter = ("status", OverdueFilter, ("requested_at", admin.DateFieldListFilter), "requested_via")
    search_fields = ("user__email", "=id")
    list_select_related = ("user",)
    date_hierarchy = "requested_at"
    show_full_result_count = False
    readonly_fields = (
        "user",
        "requested_via",
        "status",
        "requested_at",
        "due_on",
        "deadline_on",
        "extension_months",
        "extension_reason",
        "extended_at",
        "attempts",
        "error",
        "started_at",
        "completed_at",
        "file_name",
        "file_size",
        "file_sha256",
        "file_deleted_at",
        "manifest",
        "link_version",
        "link_expires_at",
        "invalidated_at",
        "emailed_at",
        "email_count",
    )
    fields = readonly_fields
    actions = ["resend_email", "invalidate_link", "rebuild", "extend_deadline"]

    def is_done(self, obj) -> bool:
        return obj.completed_at is not None

    @admin.display(description="link")
    def link(self, obj):
        if obj.invalidated_at:
            return "invalidated"
        if obj.file_deleted_at:
            return "file deleted"
        if obj.link_is_live:
            return f"valid until {timezone.localtime(obj.link_expires_at):%d %b %Y}"
        return "expired" if obj.status == DataExport.Status.READY else "–"

    @admin.action(description="Resend the download email")
    def resend_email(self, request, queryset):
        done = sum(exports.export_resend(export=e, actor=request.user) for e in queryset)
        self.message_user(request, f"Resent {done} of {queryset.count()} (only ready, valid exports are sent).")

    @admin.action(description="Invalidate the download link…")
    def invalidate_link(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Invalidate the download link",
            consequence="The emailed download links stop working at once: the person gets “link no longer "
            "valid” and needs a rebuild to download their data.",
            button="Invalidate the links",
            irreversible=True,
            describe=_describe,
            apply=lambda e, data: exports.export_invalidate(export=e, actor=request.user),
        )

    @admin.action(description="Rebuild (new file and link; old links stop working)…")
    def rebuild(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Rebuild the export",
            consequence="A new file is built and a new link emailed; every earlier link stops working.",
            button="Rebuild and email a new link",
            describe=_describe,
            apply=lambda e, data: exports.export_rebuild(export=e, actor=request.user),
        )

    @admin.action(description="Extend the deadline (reason emailed)…")
    def extend_deadline(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=ExtendForm,
            title="Extend the deadline",
            consequence="The statutory deadline moves by the months you choose; the person is emailed your reason.",
            button="Extend and email the reason",
            describe=_describe,
            apply=lambda e, data: exports.export_extend_deadline(
                export=e, months=data["months"], reason=data["reason"], actor=request.user
            ),
        )


@admin.register(ErasureRequest)
class ErasureRequestAdmin(AuditedViewsMixin, admin.ModelAdmin):
    view_action = "erasure.request"
    list_display = ("id", "user_email", "status", "requested_at", "due", "deadline", "decided_by", "completed_at")
    list_filter = ("status", OverdueFilter, ("requested_at", admin.DateFieldListFilter))
    search_fields = ("user__email", "=id")
    list_select_related = ("user", "decided_by")
    date_hierarchy = "requested_at"
    readonly_fields = (
        "user",
        "note",
        "status",
        "requested_at",
        "due_on",
        "deadline_on",
        "extension_months",
        "extension_reason",
        "decided_by",
        "decided_at",
        "decision_reason",
        "completed_at",
        "summary",
        "error",
    )
    fields = readonly_fields
    actions = ["approve", "refuse", "extend_deadline", "retry"]

    def is_done(self, obj) -> bool:
        return obj.status not in ("pending", "approved")

    @admin.action(description="Approve: erase the person's data and close the account…")
    def approve(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title="Approve erasure",
            consequence="The person's personal data is erased or anonymised in every part of Levqor, and their "
            "account is closed.",
            button="Erase the data and close the account",
            irreversible=True,
            describe=_describe,
            apply=lambda r, data: erasure.erasure_approve(request=r, reason=data["reason"], actor=request.user),
        )

    @admin.action(description="Refuse (reason emailed)…")
    def refuse(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title="Refuse erasure",
            consequence="Nothing is erased; the person is emailed your reason.",
            button="Refuse and email the reason",
            describe=_describe,
            apply=lambda r, data: erasure.erasure_refuse(request=r, reason=data["reason"], actor=request.user),
        )

    @admin.action(description="Extend the deadline (reason emailed)…")
    def extend_deadline(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=ExtendForm,
            title="Extend the deadline",
            consequence="The statutory deadline moves by the months you choose; the person is emailed your reason.",
            button="Extend and email the reason",
            describe=_describe,
            apply=lambda r, data: erasure.erasure_extend_deadline(
                request=r, months=data["months"], reason=data["reason"], actor=request.user
            ),
        )

    @admin.action(description="Retry a failed erasure")
    def retry(self, request, queryset):
        done = sum(erasure.erasure_retry(request=r, actor=request.user) for r in queryset)
        self.message_user(request, f"Queued {done} erasure(s) again.")


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(AuditedViewsMixin, admin.ModelAdmin):
    """The privacy centre's queue: verified requests from anyone, by email
    address. Answering runs the kind's service (see privacy_requests.py)."""

    view_action = "privacy_request"
    list_display = ("id", "email", "kind", "status", "created_at", "verified_at", "due", "deadline", "decided_by")
    list_filter = ("status", "kind", OverdueFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("email", "=id")
    list_select_related = ("decided_by",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = (
        "email",
        "kind",
        "details",
        "objection_kinds",
        "status",
        "created_at",
        "verified_at",
        "requested_at",
        "due_on",
        "deadline_on",
        "user",
        "decided_by",
        "decided_at",
        "staff_note",
        "outcome",
        "data_export",
        "erasure_request",
        "link_expires_at",
    )
    fields = readonly_fields
    actions = ["answer", "refuse", "extend_deadline", "resend_link"]

    def is_done(self, obj) -> bool:
        return obj.status != PrivacyRequest.Status.PENDING

    @admin.action(description="Answer: export / erase / record the objection / confirm the correction (emailed)…")
    def answer(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=NoteForm,
            title="Answer the request (the note is emailed; required for a correction)",
            describe=_describe_privacy_request,
            consequence="Access: the data is exported and a download link emailed. Erasure: the person's data is "
            "erased (an account goes through an erasure request). Objection: it is recorded and applies everywhere. "
            "Correction: your note is emailed.",
            button="Answer and email the person",
            irreversible=True,
            apply=lambda r, data: privacy_requests.privacy_request_answer(
                request=r, note=data["note"], actor=request.user
            ),
        )

    @admin.action(description="Refuse (reason emailed)…")
    def refuse(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title="Refuse the request",
            describe=_describe_privacy_request,
            consequence="The request is closed unanswered and the person is emailed your reason.",
            button="Refuse and email the reason",
            irreversible=True,
            apply=lambda r, data: privacy_requests.privacy_request_refuse(
                request=r, reason=data["reason"], actor=request.user
            ),
        )

    @admin.action(description="Extend the deadline (reason emailed)…")
    def extend_deadline(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            form_class=ExtendForm,
            title="Extend the deadline",
            consequence="The statutory deadline moves by the months you choose; the person is emailed your reason.",
            button="Extend and email the reason",
            describe=_describe_privacy_request,
            apply=lambda r, data: privacy_requests.privacy_request_extend_deadline(
                request=r, months=data["months"], reason=data["reason"], actor=request.user
            ),
        )

    @admin.action(description="Email a new download link (address exports; old links stop working)")
    def resend_link(self, request, queryset):
        done = sum(privacy_requests.privacy_request_resend_link(request=r, actor=request.user) for r in queryset)
        self.message_user(request, f"Sent {done} new link(s) (only answered exports for addresses without an account).")


# The admin index's "needs attention" queues and the compliance dashboard's
# DSAR section. Registered here (admin modules load once, at start-up) so
# the rest of compliance needs no knowledge of data requests.
attention.register(
    "Data exports overdue (statutory deadline passed)",
    count=lambda: exports.exports_overdue().count(),
    url_name="admin:compliance_dataexport_changelist",
    query="deadline=overdue",
)
attention.register(
    "Data exports failed",
    count=lambda: DataExport.objects.filter(status=DataExport.Status.FAILED).count(),
    url_name="admin:compliance_dataexport_changelist",
    query="status__exact=failed",
)
attention.register(
    "Erasure requests failed (a processor step or an app; retry from the request)",
    count=lambda: ErasureRequest.objects.filter(status=ErasureRequest.Status.FAILED).count(),
    url_name="admin:compliance_erasurerequest_changelist",
    query="status__exact=failed",
)
attention.register(
    "Erasure requests awaiting review",
    count=lambda: erasure.erasures_pending().count(),
    url_name="admin:compliance_erasurerequest_changelist",
    query="status__exact=pending",
)


def _dashboard_rows() -> list:
    today = timezone.localdate()
    open_exports = DataExport.objects.filter(completed_at__isnull=True)
    overdue = exports.exports_overdue().count()
    week = open_exports.filter(deadline_on__range=(today, today + timedelta(days=7))).count()
    erasures_overdue = erasure.erasures_open().filter(deadline_on__lt=today).count()
    privacy_overdue = privacy_requests.privacy_requests_overdue().count()
    return [
        dashboard.Row("Data exports not yet answered", open_exports.count()),
        dashboard.Row("Data exports overdue", overdue, attention=overdue > 0),
        dashboard.Row("Data exports due within 7 days", week, attention=week > 0),
        dashboard.Row("Data exports failed", DataExport.objects.filter(status=DataExport.Status.FAILED).count()),
        dashboard.Row("Erasure requests awaiting review", erasure.erasures_pending().count()),
        dashboard.Row("Erasure requests overdue", erasures_overdue, attention=erasures_overdue > 0),
        dashboard.Row("Privacy requests awaiting staff", privacy_requests.privacy_requests_awaiting_staff().count()),
        dashboard.Row("Privacy requests overdue", privacy_overdue, attention=privacy_overdue > 0),
    ]


dashboard.register_section("DSAR backlog and deadlines", _dashboard_rows)
