"""API shapes for SLA credit requests and disputes."""

from datetime import date
from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from levqor.lib.drf.serializers import StrictInputSerializer, request_schema_tighten
from levqor.plans import PLAN_CHOICES

from .models import Dispute, DisputeMessage, Impact, SlaCreditRequest, Ticket, TicketMessage
from .services import CREDIT_CURRENCIES, CREDIT_CURRENCY_ERROR, DECISION_STATUSES

MONTH_PATTERN = r"^([2-9]\d{3})-(0[1-9]|1[0-2])$"


class SlaCreditRequestCreateSerializer(StrictInputSerializer):
    plan = serializers.ChoiceField(choices=PLAN_CHOICES, required=False, help_text="Defaults to the account's plan.")
    period_kind = serializers.ChoiceField(choices=SlaCreditRequest.PeriodKind.choices)
    month = serializers.RegexField(
        MONTH_PATTERN,
        required=False,
        help_text="Required with period_kind=month, refused otherwise: YYYY-MM, from 2000-01.",
        error_messages={"invalid": "Enter a month as YYYY-MM, from 2000-01."},
    )
    incident_date = serializers.DateField(
        required=False, help_text="Required with period_kind=day, refused otherwise: YYYY-MM-DD."
    )
    impact = serializers.ChoiceField(choices=Impact.choices)
    description = serializers.CharField(max_length=5000)

    def validate(self, attrs):
        # The period's field is required and the other one refused, never ignored.
        if attrs["period_kind"] == "month":
            if not attrs.get("month"):
                raise serializers.ValidationError({"month": ["Required when period_kind is month."]})
            if "incident_date" in attrs:
                raise serializers.ValidationError({"incident_date": ["Only with period_kind day."]})
            year, month = (int(x) for x in attrs["month"].split("-"))
            attrs["month"] = date(year, month, 1)
        else:
            if not attrs.get("incident_date"):
                raise serializers.ValidationError({"incident_date": ["Required when period_kind is day."]})
            if "month" in attrs:
                raise serializers.ValidationError({"month": ["Only with period_kind month."]})
        return attrs


PERIOD_FIELDS = {"month": "month", "day": "incident_date"}


class SlaCreditRequestCreateScheme(OpenApiSerializerExtension):
    """OpenAPI: one shape per period kind, so the document says what
    `validate` enforces (month xor incident_date, by period_kind)."""

    target_class = SlaCreditRequestCreateSerializer
    priority = 1  # over levqor.lib.drf.serializers.StrictInputScheme

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        properties = request_schema_tighten(self.target, schema)["properties"]
        common = {
            name: value for name, value in properties.items() if name not in ("period_kind", *PERIOD_FIELDS.values())
        }

        def variant(kind: str) -> dict:
            field = PERIOD_FIELDS[kind]
            return {
                "type": "object",
                "title": f"period_kind={kind}",
                # allOf: keeps drf-spectacular's enum hook from merging the two one-value enums into one component.
                "properties": {
                    "period_kind": {"allOf": [{"type": "string", "enum": [kind]}]},
                    field: properties[field],
                    **common,
                },
                "required": ["period_kind", field, *(name for name in schema.get("required", []) if name in common)],
                "additionalProperties": False,
            }

        return {"oneOf": [variant("month"), variant("day")]}


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


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0, "maximum": 100000},
            {"type": "string", "pattern": r"^\d{1,6}(\.\d{1,2})?$"},
        ]
    }
)
class PoundsField(serializers.DecimalField):
    """An amount in pounds, as a JSON number (14.90) or a string ("14.90")."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=8, decimal_places=2, min_value=Decimal("0"), max_value=Decimal("100000"), **kwargs)


CURRENCY_CHOICES = [(c, c) for c in CREDIT_CURRENCIES]

# The documented names (status, credit_amount, currency, notes) and the older
# names kept as documented aliases: (name, alias, service keyword).
DECISION_ALIASES = (
    ("credit_amount", "credit_amount_minor", "credit_amount_minor"),
    ("currency", "credit_currency", "credit_currency"),
    ("notes", "notes_to_customer", "notes_to_customer"),
)


class SlaDecisionSerializer(StrictInputSerializer):
    """A staff decision. Every field sent is used or refused, never ignored."""

    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in DECISION_STATUSES])
    credit_amount = PoundsField(
        required=False,
        help_text="The credit in pounds, e.g. 14.90 (at most 2 decimals). Only with status approved; "
        "omitted: no credit. Capped at one month's fee for the period.",
    )
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        required=False,
        error_messages={"invalid_choice": CREDIT_CURRENCY_ERROR},
        help_text="Optional; GBP only: Levqor bills in GBP and Stripe credits a balance only in the customer's "
        "currency.",
    )
    notes = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="Notes to the customer, shown on their request and in the decision email. Omitted: none.",
    )
    internal_notes = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text="Staff-only notes. Omitted: none."
    )
    credit_amount_minor = serializers.IntegerField(
        min_value=0,
        max_value=10_000_000,
        required=False,
        help_text="Alias of credit_amount in pence (minor units), e.g. 1490; send one or the other.",
    )
    credit_currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        required=False,
        error_messages={"invalid_choice": CREDIT_CURRENCY_ERROR},
        help_text="Alias of currency; send one or the other.",
    )
    notes_to_customer = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text="Alias of notes; send one or the other."
    )

    def validate(self, attrs):
        errors = {}
        for name, alias, _ in DECISION_ALIASES:
            if name in attrs and alias in attrs:
                errors[alias] = [f"An alias of {name}: send one or the other, not both."]
        credit = attrs.get("credit_amount_minor") or attrs.get("credit_amount")
        if credit and attrs["status"] != SlaCreditRequest.Status.APPROVED:
            field = "credit_amount_minor" if "credit_amount_minor" in attrs else "credit_amount"
            errors[field] = ["A credit is given only with status approved."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def service_kwargs(self) -> dict:
        """The decision in `sla_request_decide`'s keyword names."""
        data = self.validated_data
        minor = data.get("credit_amount_minor")
        if minor is None:
            minor = int(data.get("credit_amount", Decimal("0")) * 100)
        return {
            "status": data["status"],
            "credit_amount_minor": minor,
            "credit_currency": data.get("currency") or data.get("credit_currency") or CREDIT_CURRENCIES[0],
            "notes_to_customer": data.get("notes", data.get("notes_to_customer", "")),
            "internal_notes": data.get("internal_notes", ""),
        }

    def sent_as(self, service_field: str) -> str:
        """The name the caller used for a service keyword (for its error messages)."""
        for name, alias, keyword in DECISION_ALIASES:
            if keyword == service_field:
                return alias if alias in self.validated_data else name
        return service_field


class DisputeCreateSerializer(StrictInputSerializer):
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


# --- Tickets ---------------------------------------------------------------------------


class TicketCreateSerializer(StrictInputSerializer):
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000, help_text="The first message of the thread.")


class TicketReplySerializer(StrictInputSerializer):
    body = serializers.CharField(max_length=20000)


class TicketMessageSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(
        choices=[("customer", "From the customer"), ("reply", "Reply from support")],
        help_text="`customer` (yours) or `reply` (support's). Internal notes are never shown.",
    )

    class Meta:
        model = TicketMessage
        fields = ("id", "kind", "via", "body", "created_at")


class TicketSerializer(serializers.ModelSerializer):
    """What the customer sees of a ticket: the thread without internal notes,
    and the first-response clock from their plan."""

    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices)
    first_response_due_at = serializers.DateTimeField(
        help_text="opened_at + the plan's first-response hours (Starter 48, Growth 24, Pro 12, Business 4)."
    )
    messages = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = (
            "id",
            "subject",
            "status",
            "priority",
            "plan",
            "sla_hours",
            "opened_at",
            "first_response_due_at",
            "first_responded_at",
            "merged_into",
            "messages",
        )

    @extend_schema_field(TicketMessageSerializer(many=True))
    def get_messages(self, ticket):
        shown = [m for m in ticket.messages.all() if m.kind != TicketMessage.Kind.INTERNAL]
        return TicketMessageSerializer(shown, many=True).data
