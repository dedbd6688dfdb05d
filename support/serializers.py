"""API shapes for SLA credit requests and disputes."""

from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from levqor.plans import PLAN_CHOICES

from .models import Dispute, DisputeMessage, Impact, SlaCreditRequest
from .services import CREDIT_CURRENCIES, CREDIT_CURRENCY_ERROR, DECISION_STATUSES


class SlaCreditRequestCreateSerializer(serializers.Serializer):
    plan = serializers.ChoiceField(choices=PLAN_CHOICES, required=False, help_text="Defaults to the account's plan.")
    period_kind = serializers.ChoiceField(choices=SlaCreditRequest.PeriodKind.choices)
    month = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$", required=False, help_text="For period_kind=month: YYYY-MM."
    )
    incident_date = serializers.DateField(required=False, help_text="For period_kind=day: YYYY-MM-DD.")
    impact = serializers.ChoiceField(choices=Impact.choices)
    description = serializers.CharField(max_length=5000)

    def validate(self, attrs):
        if attrs["period_kind"] == "month":
            if not attrs.get("month"):
                raise serializers.ValidationError({"month": ["Required when period_kind is month."]})
            year, month = (int(x) for x in attrs["month"].split("-"))
            if year < 2000:
                raise serializers.ValidationError({"month": ["Enter a month from 2000 on."]})
            attrs["month"] = date(year, month, 1)
        elif not attrs.get("incident_date"):
            raise serializers.ValidationError({"incident_date": ["Required when period_kind is day."]})
        return attrs


class SlaCreditMessageSerializer(serializers.Serializer):
    kind = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class SlaCreditRequestSerializer(serializers.ModelSerializer):
    """What the customer sees of a request (internal notes never)."""

    status = serializers.ChoiceField(choices=SlaCreditRequest.Status.choices)
    impact = serializers.ChoiceField(choices=Impact.choices)
    period_kind = serializers.ChoiceField(choices=SlaCreditRequest.PeriodKind.choices)
    measured_uptime_percent = serializers.DecimalField(max_digits=7, decimal_places=4, allow_null=True)
    credit = serializers.SerializerMethodField(help_text="The approved credit, e.g. £7.25; null until approved.")
    has_attachment = serializers.SerializerMethodField()

    class Meta:
        model = SlaCreditRequest
        fields = (
            "id",
            "plan",
            "period_kind",
            "period_start",
            "period_end",
            "impact",
            "description",
            "status",
            "measured_uptime_percent",
            "measured_downtime_seconds",
            "notes_to_customer",
            "credit",
            "credit_amount_minor",
            "credit_currency",
            "has_attachment",
            "created_at",
            "decided_at",
        )
        read_only_fields = fields

    def get_credit(self, obj) -> str | None:
        return obj.credit_display if obj.status == "approved" and obj.credit_amount_minor else None

    def get_has_attachment(self, obj) -> bool:
        return bool(obj.attachment)


class StaffSlaCreditRequestSerializer(SlaCreditRequestSerializer):
    """Staff view: claimed vs measured, the suggestion, internal notes, the Stripe reference."""

    account_id = serializers.IntegerField()
    account_name = serializers.CharField(source="account.name")
    measurement = serializers.JSONField()

    class Meta(SlaCreditRequestSerializer.Meta):
        fields = (
            *SlaCreditRequestSerializer.Meta.fields,
            "account_id",
            "account_name",
            "measured_maintenance_seconds",
            "measured_observed_seconds",
            "measurement",
            "monthly_fee_minor",
            "suggested_credit_minor",
            "internal_notes",
            "stripe_credit_id",
            "credit_applied_at",
            "credit_error",
        )
        read_only_fields = fields


class SlaDecisionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in DECISION_STATUSES])
    credit_amount_minor = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, default=0, help_text="In pence (minor units)."
    )
    credit_currency = serializers.ChoiceField(
        choices=[(c, c) for c in CREDIT_CURRENCIES],
        required=False,
        default=CREDIT_CURRENCIES[0],
        error_messages={"invalid_choice": CREDIT_CURRENCY_ERROR},
        help_text="GBP only: Levqor bills in GBP and Stripe credits a balance only in the customer's currency.",
    )
    notes_to_customer = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    internal_notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class DisputeCreateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Dispute.Category.choices)
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000)


class DisputeMessageSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=[c for c in DisputeMessage.Kind.choices if c[0] != "internal"])

    class Meta:
        model = DisputeMessage
        fields = ("kind", "body", "created_at")
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Dispute.Status.choices)
    category = serializers.ChoiceField(choices=Dispute.Category.choices)
    replies = serializers.SerializerMethodField()

    class Meta:
        model = Dispute
        fields = ("id", "category", "subject", "description", "status", "resolution_notes", "replies", "created_at")
        read_only_fields = fields

    @extend_schema_field(DisputeMessageSerializer(many=True))
    def get_replies(self, obj):
        rows = obj.messages.exclude(kind=DisputeMessage.Kind.INTERNAL)
        return DisputeMessageSerializer(rows, many=True).data
