from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count

from .links import account_column, customer_link
from .models import Account, User


class UserAddForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "account")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserInline(admin.TabularInline):
    model = User
    fields = ("email", "name", "is_active", "last_login")
    readonly_fields = ("last_login",)
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "customer_page",
        "plan",
        "billing_interval",
        "billing_state",
        "user_count",
        "stripe_customer_id",
        "created_at",
    )
    list_filter = ("billing_state", "plan", "billing_interval")
    search_fields = ("name", "stripe_customer_id", "users__email")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at")
    inlines = [UserInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(user_count=Count("users"))

    @admin.display(description="Customer page")
    def customer_page(self, obj):
        return customer_link(obj)

    @admin.display(ordering="user_count", description="Users")
    def user_count(self, obj):
        return obj.user_count


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserAddForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "name", account_column, "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    list_select_related = ("account",)
    search_fields = ("email", "name", "account__name")
    autocomplete_fields = ("account",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "account")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "name", "account", "usable_password", "password1", "password2")},
        ),
    )
