from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from levqor.plans import PLAN_CHOICES, plan_by_code


class Account(models.Model):
    """A customer organisation: what it pays for and whether it may use it."""

    class BillingState(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAUSED_BILLING = "paused_billing", "Paused (billing)"
        CANCELED = "canceled", "Canceled"

    class Interval(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        YEARLY = "yearly", "Yearly"

    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=PLAN_CHOICES)
    billing_interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTHLY)
    billing_state = models.CharField(max_length=20, choices=BillingState.choices, default=BillingState.TRIALING)
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(plan__in=[code for code, _ in PLAN_CHOICES]), name="account_plan_known"
            ),
            models.CheckConstraint(
                condition=models.Q(billing_state__in=["trialing", "active", "paused_billing", "canceled"]),
                name="account_billing_state_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def plan_facts(self):
        return plan_by_code(self.plan)

    @property
    def is_paused(self) -> bool:
        return self.billing_state == self.BillingState.PAUSED_BILLING


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: email is the login. Customers belong to an account and sign
    in with a magic link; staff have no account and use the admin."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email
