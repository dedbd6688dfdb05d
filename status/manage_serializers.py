"""Request bodies and response shapes of the Statuspage-compatible manage
API (/api/v1/), for validation and for the OpenAPI document. Field names are
Statuspage's manage API v1. Bodies are strict (a field Statuspage's
reference does not define is refused with 400, naming it); the fields
Levqor has no notion of (Twitter, metadata, backfill, ...) are accepted and
ignored, as documented on each."""

from rest_framework import serializers

from levqor.lib.drf.serializers import StrictInputSerializer

from . import serializers as v2
from .models import ComponentStatus, IncidentStatus, MaintenanceStatus

INCIDENT_STATUSES = list(IncidentStatus.values)
MAINTENANCE_STATUSES = list(MaintenanceStatus.values)
COMPONENT_STATUSES = list(ComponentStatus.values)  # SPECTACULAR_SETTINGS names this enum
IMPACTS = ["none", "minor", "major", "critical"]  # SPECTACULAR_SETTINGS names this enum
ANY_STATUSES = INCIDENT_STATUSES + MAINTENANCE_STATUSES  # SPECTACULAR_SETTINGS names this enum
IGNORED = "Accepted for compatibility with Statuspage; Levqor ignores it."

# --- Responses ----------------------------------------------------------------------


class ManageErrorSerializer(serializers.Serializer):
    """Statuspage's error body."""

    error = serializers.CharField(help_text="What went wrong, for people.")


class ManagePageSerializer(serializers.Serializer):
    id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    name = serializers.CharField()
    page_description = serializers.CharField(allow_null=True)
    headline = serializers.CharField(allow_null=True)
    branding = serializers.CharField()
    subdomain = serializers.CharField(allow_null=True)
    domain = serializers.CharField(allow_null=True)
    url = serializers.URLField()
    support_url = serializers.CharField(allow_null=True)
    hidden_from_search = serializers.BooleanField()
    allow_page_subscribers = serializers.BooleanField()
    allow_incident_subscribers = serializers.BooleanField()
    allow_email_subscribers = serializers.BooleanField()
    allow_sms_subscribers = serializers.BooleanField()
    allow_rss_atom_feeds = serializers.BooleanField()
    allow_webhook_subscribers = serializers.BooleanField()
    notifications_from_email = serializers.CharField()
    notifications_email_footer = serializers.CharField(allow_null=True)
    activity_score = serializers.FloatField()
    twitter_username = serializers.CharField(allow_null=True)
    viewers_must_be_team_members = serializers.BooleanField()
    ip_restrictions = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField()
    css_body_background_color = serializers.CharField()
    css_font_color = serializers.CharField()
    css_light_font_color = serializers.CharField()
    css_greens = serializers.CharField()
    css_yellows = serializers.CharField()
    css_oranges = serializers.CharField()
    css_blues = serializers.CharField()
    css_reds = serializers.CharField()
    css_border_color = serializers.CharField()
    css_graph_color = serializers.CharField()
    css_link_color = serializers.CharField()
    css_no_data = serializers.CharField()
    favicon_logo = serializers.CharField(allow_null=True)
    transactional_logo = serializers.CharField(allow_null=True)
    hero_cover = serializers.CharField(allow_null=True)
    email_logo = serializers.CharField(allow_null=True)
    twitter_logo = serializers.CharField(allow_null=True)


class ManageComponentSerializer(v2.ComponentSerializer):
    automation_email = serializers.CharField(allow_null=True)


class ManageIncidentUpdateSerializer(v2.IncidentUpdateSerializer):
    status = serializers.CharField(help_text="An incident status, or a maintenance status on a maintenance.")
    twitter_updated_at = serializers.DateTimeField(allow_null=True)
    wants_twitter_update = serializers.BooleanField()


class ManageIncidentSerializer(serializers.Serializer):
    """An incident, or a scheduled maintenance (then `scheduled_for` is set)."""

    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ANY_STATUSES)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    monitoring_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    impact = serializers.CharField(help_text="none, minor, major or critical; maintenance on a maintenance.")
    impact_override = serializers.CharField(allow_null=True)
    shortlink = serializers.URLField()
    started_at = serializers.DateTimeField()
    page_id = serializers.CharField()
    incident_updates = ManageIncidentUpdateSerializer(many=True)
    components = ManageComponentSerializer(many=True)
    metadata = serializers.DictField()
    postmortem_body = serializers.CharField(allow_null=True)
    postmortem_body_last_updated_at = serializers.DateTimeField(allow_null=True)
    postmortem_ignored = serializers.BooleanField()
    postmortem_notified_subscribers = serializers.BooleanField()
    postmortem_notified_twitter = serializers.BooleanField()
    postmortem_published_at = serializers.DateTimeField(allow_null=True)
    scheduled_for = serializers.DateTimeField(allow_null=True)
    scheduled_until = serializers.DateTimeField(allow_null=True)
    scheduled_remind_prior = serializers.BooleanField()
    scheduled_reminded_at = serializers.DateTimeField(allow_null=True)
    scheduled_auto_in_progress = serializers.BooleanField()
    scheduled_auto_completed = serializers.BooleanField()
    auto_transition_deliver_notifications_at_end = serializers.BooleanField()
    auto_transition_deliver_notifications_at_start = serializers.BooleanField()
    auto_transition_to_maintenance_state = serializers.BooleanField()
    auto_transition_to_operational_state = serializers.BooleanField()


class ManageSubscriberSerializer(serializers.Serializer):
    """An email subscriber, or a webhook subscriber (`mode: webhook`)."""

    id = serializers.CharField(help_text="An email subscriber's number; a webhook subscriber's is `wh_` + its id.")
    skip_confirmation_notification = serializers.BooleanField()
    mode = serializers.ChoiceField(choices=["email", "webhook"])
    email = serializers.EmailField(help_text="The address; for a webhook, its owner's.")
    endpoint = serializers.URLField(allow_null=True, help_text="A webhook subscriber's URL; null for email.")
    phone_number = serializers.CharField(allow_null=True)
    phone_country = serializers.CharField(allow_null=True)
    display_phone_number = serializers.CharField(allow_null=True)
    obfuscated_channel_name = serializers.CharField(allow_null=True)
    workspace_name = serializers.CharField(allow_null=True)
    quarantined_at = serializers.DateTimeField(
        allow_null=True, help_text="When a webhook was disabled after repeated failures (state quarantined)."
    )
    purge_at = serializers.DateTimeField(allow_null=True)
    components = serializers.ListField(
        child=serializers.CharField(),
        help_text="The component ids it hears about: the ones it chose, or every visible one when it chose none.",
    )
    page_access_user_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


# --- Request bodies -------------------------------------------------------------------


class ManageComponentFields(StrictInputSerializer):
    status = serializers.ChoiceField(choices=COMPONENT_STATUSES, required=False)
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    only_show_if_degraded = serializers.BooleanField(required=False)
    group_id = serializers.CharField(allow_null=True, required=False, help_text=IGNORED)
    showcase = serializers.BooleanField(required=False, help_text=IGNORED)
    start_date = serializers.DateField(allow_null=True, required=False, help_text=IGNORED)


class ManageComponentRequestSerializer(StrictInputSerializer):
    """`{"component": {...}}`: the fields to change."""

    component = ManageComponentFields()


class ManageIncidentFields(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(
        choices=ANY_STATUSES,
        required=False,
        help_text="investigating, identified, monitoring, resolved or postmortem for an incident; scheduled, "
        "in_progress, verifying or completed for a scheduled maintenance.",
    )
    impact_override = serializers.ChoiceField(choices=IMPACTS, required=False)
    body = serializers.CharField(max_length=25000, allow_blank=True, required=False)
    components = serializers.DictField(
        child=serializers.ChoiceField(choices=COMPONENT_STATUSES),
        required=False,
        help_text="Component id → its status during the incident.",
    )
    component_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    deliver_notifications = serializers.BooleanField(required=False, default=True)
    scheduled_for = serializers.DateTimeField(required=False)
    scheduled_until = serializers.DateTimeField(required=False)
    scheduled_auto_in_progress = serializers.BooleanField(required=False)
    scheduled_auto_completed = serializers.BooleanField(required=False)
    scheduled_auto_transition = serializers.BooleanField(
        required=False, help_text="Same as scheduled_auto_in_progress."
    )
    scheduled_remind_prior = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_transition_to_maintenance_state = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_transition_to_operational_state = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_transition_deliver_notifications_at_start = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_transition_deliver_notifications_at_end = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_tweet_at_beginning = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_tweet_on_completion = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_tweet_on_creation = serializers.BooleanField(required=False, help_text=IGNORED)
    auto_tweet_one_hour_before = serializers.BooleanField(required=False, help_text=IGNORED)
    reminder_intervals = serializers.CharField(required=False, allow_blank=True, help_text=IGNORED)
    metadata = serializers.DictField(required=False, help_text=IGNORED)
    backfilled = serializers.BooleanField(required=False, help_text="Only false: Levqor does not backfill.")
    backfill_date = serializers.CharField(required=False, allow_blank=True, help_text=IGNORED)

    def validate_backfilled(self, value):
        if value:
            raise serializers.ValidationError("Backfilled incidents are not supported.")
        return value

    def validate(self, attrs):
        if attrs.get("scheduled_for") and attrs.get("scheduled_until"):
            if attrs["scheduled_until"] <= attrs["scheduled_for"]:
                raise serializers.ValidationError({"scheduled_until": ["Must be after scheduled_for."]})
        return attrs


class ManageIncidentRequestSerializer(StrictInputSerializer):
    """`{"incident": {...}}`."""

    incident = ManageIncidentFields()


class ManageSubscriberFields(StrictInputSerializer):
    email = serializers.EmailField(
        required=False, help_text="The address; with `endpoint`, the webhook owner's (they confirm it)."
    )
    endpoint = serializers.URLField(
        max_length=500,
        required=False,
        help_text="A webhook subscriber's URL (https, public address); its owner confirms by email first.",
    )
    phone_country = serializers.CharField(required=False, help_text="SMS subscribers: not supported (422).")
    phone_number = serializers.CharField(required=False, help_text="SMS subscribers: not supported (422).")
    skip_confirmation_notification = serializers.BooleanField(
        required=False,
        help_text="Ignored: every new address confirms by email (double opt-in) before it is sent anything.",
    )
    page_access_user = serializers.CharField(required=False, help_text=IGNORED)
    component_ids = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="The components it hears about (a group stands for its visible components); omitted means "
        "every component, including any added later.",
    )


class ManageSubscriberRequestSerializer(StrictInputSerializer):
    """`{"subscriber": {...}}`."""

    subscriber = ManageSubscriberFields()
