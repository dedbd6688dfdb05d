"""Status admin: components, incidents (with their updates), maintenance,
templates, subscribers, and read-only history. Writes go through services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from compliance.models import OutboundEmail
from compliance.outbox.selectors import emails_about
from levqor.lib.admin import (
    DefaultSubsetFilter,
    KeepRecordsMixin,
    ReadOnlyAdmin,
    ReadOnlyMixin,
    SubsetFilter,
    confirm_action,
)

from . import services, state
from .models import (
    UNRESOLVED,
    Alert,
    AlertDelivery,
    Component,
    DailyRollup,
    Incident,
    IncidentComponent,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    Snapshot,
    StatusApiKey,
    Subscriber,
    WebhookDelivery,
    WebhookSubscriber,
)
from .services.subscribers import NOTICE_KINDS


class ComponentFreshnessFilter(SubsetFilter):
    title = "monitoring"
    parameter_name = "monitoring"
    options = (("stale", f"Not checked for over {int(state.STALE_AFTER.total_seconds() // 60)} minutes"),)

    def subset(self, request, queryset, value):
        if value == "stale":
            old = Q(checked_at__isnull=True) | Q(checked_at__lt=timezone.now() - state.STALE_AFTER)
            return queryset.filter(old, is_group=False).exclude(probe__in=("", "queue"))
        return queryset


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "group", "position", "hidden", "critical", "state", "latency_ms", "checked_at")
    list_editable = ("position", "hidden")
    list_filter = (ComponentFreshnessFilter, "state", "hidden", "critical", "is_group")
    search_fields = ("name", "slug", "description")
    list_select_related = ("group",)
    readonly_fields = (
        "public_id",
        "state",
        "declared_status",
        "latency_ms",
        "note",
        "checked_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "description", "position", "is_group", "group", "hidden", "only_show_if_degraded")}),
        ("Probe", {"fields": ("slug", "probe", "critical", "degraded_after_ms")}),
        ("Latest result", {"fields": ("state", "declared_status", "latency_ms", "note", "checked_at", "public_id")}),
    )

    def save_model(self, request, obj, form, change):
        services.component_save(component=obj, changed=form.changed_data, actor=request.user)


class IncidentStateFilter(DefaultSubsetFilter):
    title = "state"
    parameter_name = "state"
    options = (
        ("unresolved", "Unresolved (published)"),
        ("draft", "Drafts (not published)"),
        ("resolved", "Resolved"),
    )
    default = "unresolved"

    def subset(self, request, queryset, value):
        if value == "unresolved":
            return queryset.filter(status__in=UNRESOLVED, draft=False)
        if value == "draft":
            return queryset.filter(status__in=UNRESOLVED, draft=True)
        if value == "resolved":
            return queryset.exclude(status__in=UNRESOLVED)
        return queryset


class IncidentComponentInline(admin.TabularInline):
    model = IncidentComponent
    extra = 1
    verbose_name = "affected component"
    verbose_name_plural = "affected components (and their state during the incident)"

    def get_extra(self, request, obj=None, **kwargs):
        template = _template_from(request)
        return max(1, template.components.count()) if template and obj is None else self.extra


class IncidentUpdateInline(KeepRecordsMixin, admin.TabularInline):
    model = IncidentUpdate
    extra = 0
    fields = ("display_at", "status", "body", "deliver_notifications")
    readonly_fields = fields
    verbose_name_plural = "updates (newest first; post a new one above)"


def _template_from(request) -> IncidentTemplate | None:
    pk = request.GET.get("template")
    return IncidentTemplate.objects.filter(pk=pk).first() if pk and pk.isdigit() else None


class IncidentForm(forms.ModelForm):
    started_at = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        help_text="Date and time, UK time (pick them with the calendar and clock). Leave empty for now.",
    )
    update_status = forms.ChoiceField(label="Status", choices=IncidentStatus.choices, required=False)
    update_body = forms.CharField(
        label="Update", widget=forms.Textarea(attrs={"rows": 4}), required=False, help_text="Shown on /status."
    )
    update_notify = forms.BooleanField(
        label="Email subscribers",
        required=False,
        help_text="Creation and resolution always email subscribers; other updates only when ticked.",
    )

    class Meta:
        model = Incident
        fields = ("name", "impact", "started_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["update_status"].initial = self.instance.status
        else:
            self.fields["update_status"].initial = IncidentStatus.INVESTIGATING
            self.fields["update_body"].required = True
            self.fields["update_body"].help_text = "The first update, shown on /status and emailed to subscribers."

    def clean(self):
        data = super().clean()
        if data.get("update_body") and not data.get("update_status"):
            self.add_error("update_status", "Choose the status this update sets.")
        return data


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentForm
    list_display = ("name", "impact", "status", "published", "started_at", "resolved_at", "update_count", "publish")
    list_filter = (IncidentStateFilter, "impact")
    search_fields = ("name", "updates__body")
    date_hierarchy = "started_at"
    inlines = (IncidentComponentInline, IncidentUpdateInline)
    readonly_fields = ("status", "public_id", "published_at", "monitoring_at", "resolved_at", "publish")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "impact",
                    "started_at",
                    "status",
                    "public_id",
                    "published_at",
                    "publish",
                    "monitoring_at",
                    "resolved_at",
                )
            },
        ),
        ("Post an update", {"fields": ("update_status", "update_body", "update_notify")}),
    )
    actions = ("publish_drafts",)

    @admin.display(description="published", boolean=True, ordering="draft")
    def published(self, obj):
        return not obj.draft

    @admin.display(description="")
    def publish(self, obj):
        if obj is None or obj.pk is None or not obj.draft:
            return "—"
        # Both the changelist and the change page are forms that carry the
        # CSRF token: the button posts that form to the publish URL.
        url = reverse("admin:status_incident_publish", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post">Publish this draft</button>', url
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="status_incident_publish",
            ),
            *super().get_urls(),
        ]

    def publish_view(self, request, pk: int):
        incident = Incident.objects.filter(pk=pk).first()
        if request.method != "POST" or incident is None:
            return HttpResponseNotAllowed(["POST"]) if incident else HttpResponseRedirect("../../")
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        if services.incident_publish(incident=incident, actor=request.user):
            self.message_user(request, f"Published “{incident.name}”: it is on /status and subscribers are emailed.")
        else:
            self.message_user(request, f"“{incident.name}” was already published.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:status_incident_change", args=[incident.pk]))

    @admin.action(description="Publish the selected drafts")
    def publish_drafts(self, request, queryset):
        count = sum(services.incident_publish(incident=i, actor=request.user) for i in queryset)
        self.message_user(request, f"{count} draft incident(s) published.")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_updates=Count("updates"))

    @admin.display(description="updates", ordering="_updates")
    def update_count(self, obj):
        return obj._updates

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        template = _template_from(request)
        if template:
            initial.update({"name": template.title, "impact": template.impact, "update_body": template.body})
        return initial

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        template = _template_from(request)
        if isinstance(inline, IncidentComponentInline) and template and request.method == "GET":
            kwargs["initial"] = [{"component": c.pk} for c in template.components.all()]
        return kwargs

    def save_model(self, request, obj, form, change):
        """Saved by a service in save_related, with its components and update."""

    def save_related(self, request, form, formsets, change):
        components = []
        for formset in formsets:
            if formset.model is IncidentComponent:
                components = [
                    (f.cleaned_data["component"], f.cleaned_data["status"])
                    for f in formset.forms
                    if f.cleaned_data.get("component") and not f.cleaned_data.get("DELETE")
                ]
        data = form.cleaned_data
        if not change:
            incident = services.incident_create(
                name=data["name"],
                impact=data["impact"],
                status=data["update_status"] or IncidentStatus.INVESTIGATING,
                body=data["update_body"],
                components=components,
                started_at=data.get("started_at") or None,
                actor=request.user,
            )
            form.instance.pk = incident.pk
            form.instance._state.adding = False
            form.instance.refresh_from_db()
        else:
            incident = form.instance
            if (
                form.has_changed()
                and {"name", "impact", "started_at"} & set(form.changed_data)
                or any(fs.has_changed() for fs in formsets if fs.model is IncidentComponent)
            ):
                services.incident_edit(
                    incident=incident,
                    name=data["name"],
                    impact=data["impact"],
                    started_at=data.get("started_at")
                    or Incident.objects.values_list("started_at", flat=True).get(pk=incident.pk),
                    components=components,
                    actor=request.user,
                )
            if data.get("update_body"):
                services.incident_update(
                    incident=incident,
                    status=data["update_status"],
                    body=data["update_body"],
                    notify=data.get("update_notify", False),
                    actor=request.user,
                )
        for formset in formsets:
            # The service wrote the rows; the admin's change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(IncidentTemplate)
class IncidentTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "impact", "start_incident")
    search_fields = ("name", "title", "body")
    filter_horizontal = ("components",)

    @admin.display(description="")
    def start_incident(self, obj):
        url = reverse("admin:status_incident_add") + f"?template={obj.pk}"
        return format_html('<a class="button" href="{}">Start an incident from this</a>', url)


class MaintenanceUpdateInline(KeepRecordsMixin, admin.TabularInline):
    model = MaintenanceUpdate
    extra = 0
    fields = ("display_at", "status", "body")
    readonly_fields = fields


class MaintenanceForm(forms.ModelForm):
    class Meta:
        model = Maintenance
        fields = ("name", "body", "scheduled_for", "scheduled_until", "auto_start", "auto_complete", "components")

    def clean(self):
        data = super().clean()
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", "The window must end after it starts.")
        return data


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    form = MaintenanceForm
    list_display = ("name", "status", "scheduled_for", "scheduled_until", "auto_start", "auto_complete")
    list_filter = ("status",)
    search_fields = ("name", "body")
    date_hierarchy = "scheduled_for"
    filter_horizontal = ("components",)
    readonly_fields = ("status", "public_id", "started_at", "completed_at")
    inlines = (MaintenanceUpdateInline,)
    actions = ("start_now", "mark_verifying", "complete_now")

    def save_model(self, request, obj, form, change):
        """Saved by a service in save_related, with its components."""

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        fields = {
            k: data[k] for k in ("name", "body", "scheduled_for", "scheduled_until", "auto_start", "auto_complete")
        }
        if not change:
            maintenance = services.maintenance_create(**fields, components=data["components"], actor=request.user)
            if not maintenance.announced_ahead:
                self.message_user(
                    request,
                    "This maintenance starts less than 48 hours from now: under /sla, downtime during it "
                    "still counts as downtime.",
                    messages.WARNING,
                )
            form.instance.pk = maintenance.pk
            form.instance._state.adding = False
            form.instance.refresh_from_db()
        else:
            services.maintenance_edit(
                maintenance=form.instance, fields=fields, components=data["components"], actor=request.user
            )
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def _move(self, request, queryset, status):
        moved = sum(services.maintenance_set_status(maintenance=m, status=status, actor=request.user) for m in queryset)
        self.message_user(request, f"{moved} maintenance window(s) now {MaintenanceStatus(status).label.lower()}.")

    @admin.action(description="Start now")
    def start_now(self, request, queryset):
        self._move(request, queryset, MaintenanceStatus.IN_PROGRESS)

    @admin.action(description="Mark verifying")
    def mark_verifying(self, request, queryset):
        self._move(request, queryset, MaintenanceStatus.VERIFYING)

    @admin.action(description="Complete now")
    def complete_now(self, request, queryset):
        self._move(request, queryset, MaintenanceStatus.COMPLETED)


class SubscriberStateFilter(SubsetFilter):
    title = "state"
    parameter_name = "state"
    options = (("active", "Active"), ("pending", "Awaiting confirmation"), ("unsubscribed", "Unsubscribed"))

    def subset(self, request, queryset, value):
        if value == "active":
            return queryset.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
        if value == "pending":
            return queryset.filter(confirmed_at__isnull=True, unsubscribed_at__isnull=True)
        if value == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset


def _outbox_link(query: dict, text: str) -> str:
    url = reverse("admin:compliance_outboundemail_changelist") + "?" + urlencode({"state": "all", **query})
    return format_html('<a href="{}">{}</a>', url, text)


def _emails_list(emails) -> str:
    """Outbox emails as a short list, each linked to its outbox record."""
    rows = [
        (
            reverse("admin:compliance_outboundemail_change", args=[email.pk]),
            f"{email.created_at:%Y-%m-%d %H:%M}",
            email.to or "(erased)",
            email.get_status_display(),
        )
        for email in emails
    ]
    if not rows:
        return "—"
    return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a> to {}: {}', rows)


def _notices_sent():
    """A subscriber's sent notices (outbox emails whose stage names them)."""
    stage = Concat(Value("subscriber-"), Cast(OuterRef("pk"), CharField()))
    sent = (
        OutboundEmail.objects.filter(kind__in=NOTICE_KINDS, stage=stage, status=OutboundEmail.Status.SENT)
        .order_by()
        .values("stage")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(sent, output_field=IntegerField()), 0)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ("email", "created_at", "confirmed_at", "unsubscribed_at", "sent")
    list_filter = (SubscriberStateFilter,)
    search_fields = ("email",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "email",
        "chosen_components",
        "created_at",
        "confirm_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "emails",
    )
    exclude = ("components",)  # the subscriber's own choice, made from their manage link
    actions = ("unsubscribe",)

    @admin.display(description="components")
    def chosen_components(self, obj):
        return ", ".join(c.name for c in obj.components.all()) or "All (none chosen)"

    def has_add_permission(self, request):
        return False  # only by double opt-in

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_sent=_notices_sent())

    @admin.display(description="emails sent", ordering="_sent")
    def sent(self, obj):
        return obj._sent

    @admin.display(description="emails (outbox)")
    def emails(self, obj):
        return _outbox_link({"q": obj.email}, "Every email to this address, in the outbox")

    @admin.action(description="Unsubscribe…")
    def unsubscribe(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Unsubscribe from status emails",
            consequence="These people get no more incident or maintenance emails; to receive them again they "
            "must subscribe and confirm again.",
            button="Unsubscribe them",
            apply=lambda subscriber, data: services.subscriber_remove(subscriber=subscriber, actor=request.user),
        )


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("taken_at", "component", "state", "latency_ms", "note", "in_maintenance")
    list_filter = ("state", "in_maintenance", "component")
    list_select_related = ("component",)
    date_hierarchy = "taken_at"
    show_full_result_count = False


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdmin):
    list_display = ("day", "component", "uptime", "downtime_seconds", "maintenance_seconds", "latency_avg_ms")
    list_filter = ("component",)
    list_select_related = ("component",)
    date_hierarchy = "day"
    show_full_result_count = False

    @admin.display(description="uptime")
    def uptime(self, obj):
        value = obj.uptime_percent
        return "—" if value is None else f"{value:.3f}%"


class AlertDeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = AlertDelivery
    fields = ("target", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    readonly_fields = fields
    extra = 0
    verbose_name = "webhook delivery"
    verbose_name_plural = "webhook deliveries"


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """On-call alerts: read-only; the draft incident each outage made is linked."""

    list_display = ("created_at", "subject", "kind", "raised_by", "incident")
    list_filter = ("kind", "raised_by")
    search_fields = ("subject", "key")
    list_select_related = ("incident",)
    date_hierarchy = "created_at"
    inlines = (AlertDeliveryInline,)
    readonly_fields = ("emails",)

    @admin.display(description="emails (outbox)")
    def emails(self, obj):
        return _emails_list(emails_about(obj).order_by("stage"))


class AlertDeliveryStateFilter(SubsetFilter):
    title = "state"
    parameter_name = "status__exact"
    field = "status"
    options = AlertDelivery.Status.choices


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    """On-call webhook POSTs. (On-call emails are in the outbox.)"""

    list_display = ("alert", "target", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    list_filter = (AlertDeliveryStateFilter,)
    list_select_related = ("alert",)
    search_fields = ("alert__subject", "target")
    actions = ("retry_now",)

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        count = sum(services.delivery_retry_now(delivery=d, actor=request.user) for d in queryset)
        self.message_user(request, f"{count} failed delivery(ies) retried.")


# --- Webhook subscribers (issue 17 item 3) ------------------------------------------


class WebhookSubscriberStateFilter(SubsetFilter):
    title = "state"
    parameter_name = "state"
    options = (
        ("active", "Active"),
        ("pending", "Awaiting confirmation"),
        ("disabled", "Disabled after failures"),
        ("unsubscribed", "Unsubscribed"),
    )

    def subset(self, request, queryset, value):
        live = queryset.filter(unsubscribed_at__isnull=True)
        if value == "active":
            return live.filter(confirmed_at__isnull=False, disabled_at__isnull=True)
        if value == "pending":
            return live.filter(confirmed_at__isnull=True)
        if value == "disabled":
            return live.filter(disabled_at__isnull=False)
        if value == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset


class WebhookSubscriberForm(forms.ModelForm):
    endpoint = forms.URLField(label="Endpoint URL", max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookSubscriber
        fields = ("endpoint", "email", "components")
        widgets = {"components": forms.CheckboxSelectMultiple}

    def clean_endpoint(self):
        endpoint = self.cleaned_data["endpoint"]
        if problem := services.webhook_subscribers.endpoint_problem(endpoint):
            raise forms.ValidationError(problem)
        return endpoint


@admin.register(WebhookSubscriber)
class WebhookSubscriberAdmin(admin.ModelAdmin):
    """Webhook subscribers. Staff add one here (active at once; the signing
    secret is shown once, in the confirmation message); the secret is never
    shown again. Writes go through services (audited)."""

    form = WebhookSubscriberForm
    list_display = ("endpoint", "email", "state", "consecutive_failures", "last_success_at", "created_at")
    list_filter = (WebhookSubscriberStateFilter,)
    search_fields = ("endpoint", "email")
    date_hierarchy = "created_at"
    readonly_fields = (
        "public_id",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
    )
    actions = ("enable_again", "unsubscribe")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("endpoint", "email", *self.readonly_fields)

    @admin.display(description="state")
    def state(self, obj):
        if obj.unsubscribed_at:
            return "unsubscribed"
        if obj.disabled_at:
            return "disabled"
        return "active" if obj.confirmed_at else "awaiting confirmation"

    def save_model(self, request, obj, form, change):
        """Saved by a service in save_related, with its components."""

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        if change:
            services.subscription_components_set(
                subscriber=form.instance, components=data["components"], actor=request.user
            )
            return
        try:
            subscriber = services.webhook_subscriber_create(
                endpoint=data["endpoint"], email=data["email"], components=data["components"], actor=request.user
            )
        except ValueError as exc:
            raise PermissionDenied(str(exc)) from None
        form.instance.pk = subscriber.pk
        form.instance._state.adding = False
        form.instance.refresh_from_db()
        self.message_user(
            request,
            f"Signing secret for {subscriber.endpoint} (shown only now; give it to the owner): {subscriber.secret}",
            messages.WARNING,
        )

    @admin.action(description="Enable again")
    def enable_again(self, request, queryset):
        count = sum(services.webhook_subscriber_enable(subscriber=s, actor=request.user) for s in queryset)
        self.message_user(request, f"{count} webhook(s) enabled again.")

    @admin.action(description="Unsubscribe…")
    def unsubscribe(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Unsubscribe status webhooks",
            consequence="These endpoints get nothing more; deliveries still waiting are given up.",
            button="Unsubscribe them",
            apply=lambda subscriber, data: services.webhook_subscriber_unsubscribe(
                subscriber=subscriber, actor=request.user
            ),
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Each status webhook POST: one per (event, subscriber)."""

    list_display = ("event", "subscriber", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    list_filter = ("status",)
    list_select_related = ("event", "subscriber")
    search_fields = ("event__key", "subscriber__endpoint")


class StatusKeyStateFilter(DefaultSubsetFilter):
    title = "state"
    parameter_name = "state"
    default = "active"
    options = (("active", "Active"), ("revoked", "Revoked"))

    def subset(self, request, queryset, value):
        if value == "active":
            return queryset.filter(revoked_at__isnull=True)
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class StatusApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = StatusApiKey
        fields = ("name", "scope")


@admin.register(StatusApiKey)
class StatusApiKeyAdmin(admin.ModelAdmin):
    """Staff keys for the Statuspage-compatible API (/api/v1/). The secret is
    shown once, when the key is created; revoke instead of deleting."""

    list_display = ("prefix", "name", "scope", "state_display", "last_used_at", "created_by", "created_at")
    list_filter = (StatusKeyStateFilter, "scope")
    list_select_related = ("created_by",)
    search_fields = ("prefix", "name")
    readonly_fields = ("prefix", "scope", "created_by", "created_at", "last_used_at", "revoked_at")
    fields = ("name", *readonly_fields)
    actions = ["revoke_keys"]
    show_full_result_count = False

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = StatusApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ("name", "scope") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the key stays for the audit trail

    @admin.display(description="State")
    def state_display(self, obj):
        return "active" if obj.is_active else "revoked"

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        issued = services.status_api_key_create(name=obj.name, scope=obj.scope, actor=request.user)
        obj.pk = issued.key.pk
        obj.__dict__.update({k: v for k, v in issued.key.__dict__.items() if not k.startswith("_")})
        self.message_user(
            request,
            f"Key created. Copy it now, it is shown only once: {issued.secret}",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected keys now…")
    def revoke_keys(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Revoke status API keys",
            consequence="Every script or integration calling /api/v1/ with these keys gets 401 from its next call.",
            button="Revoke the keys now",
            irreversible=True,
            describe=lambda key: f"{key.prefix}… “{key.name}” ({key.get_scope_display().lower()})",
            apply=lambda key, data: services.status_api_key_revoke(key=key, actor=request.user),
        )
