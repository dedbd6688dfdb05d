from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from levqor.accounts.links import account_column
from levqor.lib.admin import SubsetFilter, confirm_action

from . import services
from .models import ApiKey


class KeyStateFilter(SubsetFilter):
    title = "state"
    parameter_name = "state"
    options = [("usable", "Usable"), ("rotating", "Rotating (overlap)"), ("ended", "Revoked or expired")]

    def subset(self, request, queryset, value):
        usable = queryset.filter(revoked_at__isnull=True).exclude(expires_at__lte=timezone.now())
        if value == "usable":
            return usable
        if value == "rotating":
            return usable.filter(expires_at__isnull=False)
        if value == "ended":
            return queryset.exclude(pk__in=usable.values("pk"))
        return queryset


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("account", "name", "mode")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "name",
        account_column,
        "mode",
        "state_display",
        "last_used_at",
        "expires_at",
        "created_at",
    )
    list_filter = (KeyStateFilter, "mode")
    list_select_related = ("account",)
    search_fields = ("prefix", "name", "account__name")
    date_hierarchy = "created_at"
    readonly_fields = (
        "account",
        "mode",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "rotated_from",
    )
    fields = ("name", *readonly_fields)
    actions = ["revoke_keys", "rotate_keys"]
    show_full_result_count = False

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ("account", "name", "mode") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: keys stay for the audit trail

    @admin.display(description="State")
    def state_display(self, obj):
        return obj.state()

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        issued = services.api_key_create(account=obj.account, name=obj.name, mode=obj.mode, actor=request.user)
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
            title="Revoke API keys",
            consequence="Every system calling the API with these keys gets 401 from its next call; the customer "
            "must create a new key and deploy it to restore access.",
            button="Revoke the keys now",
            irreversible=True,
            describe=lambda key: f"{key.prefix}… “{key.name}” ({key.account}, {key.get_mode_display().lower()})",
            apply=lambda key, data: services.api_key_revoke(key=key, actor=request.user),
        )

    @admin.action(description="Rotate selected keys (old keys keep working 24 h)")
    def rotate_keys(self, request, queryset):
        for key in queryset.select_related("account"):
            try:
                issued = services.api_key_rotate(key=key, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{key.prefix}…: {' '.join(exc.messages)}", level=messages.ERROR)
                continue
            self.message_user(
                request,
                f"{key.prefix}… rotated; new key (shown only once): {issued.secret}",
                level=messages.WARNING,
            )
