"""Response shapes of the public status API, for the OpenAPI document (and
the tests that hold the JSON to them). Field names follow Atlassian
Statuspage v2 and the IETF health check draft exactly."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def _enum(name: str, values: list[str]):
    """A string field documented as an enum."""
    return extend_schema_field({"type": "string", "enum": values})(type(name, (serializers.CharField,), {}))


IndicatorField = _enum("IndicatorField", ["none", "minor", "major", "critical", "maintenance"])
ComponentStatusField = _enum(
    "ComponentStatusField",
    ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"],
)
IncidentStatusField = _enum(
    "IncidentStatusField", ["investigating", "identified", "monitoring", "resolved", "postmortem"]
)
ImpactField = _enum("ImpactField", ["none", "minor", "major", "critical"])
MaintenanceStatusField = _enum("MaintenanceStatusField", ["scheduled", "in_progress", "verifying", "completed"])
HealthStateField = _enum("HealthStateField", ["up", "degraded", "maintenance", "down"])
# Two components share this one (check and document), which would make the
# enum's generated name collide with other `status` enums: a pattern instead.
CheckStatusField = extend_schema_field({"type": "string", "pattern": "^(pass|warn|fail)$"})(
    type("CheckStatusField", (serializers.CharField,), {})
)


class PageSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField()
    time_zone = serializers.CharField()
    updated_at = serializers.DateTimeField()


class StatusSerializer(serializers.Serializer):
    indicator = IndicatorField()
    description = serializers.CharField()


class ComponentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = ComponentStatusField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    position = serializers.IntegerField()
    description = serializers.CharField(allow_null=True)
    showcase = serializers.BooleanField()
    start_date = serializers.DateField(allow_null=True)
    group_id = serializers.CharField(allow_null=True)
    page_id = serializers.CharField()
    group = serializers.BooleanField()
    only_show_if_degraded = serializers.BooleanField()
    components = serializers.ListField(child=serializers.CharField(), required=False, help_text="Groups only.")


class AffectedComponentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    old_status = serializers.CharField()
    new_status = serializers.CharField()


class IncidentUpdateSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    body = serializers.CharField()
    incident_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    display_at = serializers.DateTimeField()
    affected_components = AffectedComponentSerializer(many=True, allow_null=True)
    deliver_notifications = serializers.BooleanField()
    custom_tweet = serializers.CharField(allow_null=True)
    tweet_id = serializers.CharField(allow_null=True)


class IncidentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = IncidentStatusField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    monitoring_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    impact = ImpactField()
    shortlink = serializers.URLField()
    started_at = serializers.DateTimeField()
    page_id = serializers.CharField()
    incident_updates = IncidentUpdateSerializer(many=True)
    components = ComponentSerializer(many=True)


class MaintenanceSerializer(IncidentSerializer):
    status = MaintenanceStatusField()
    impact = serializers.CharField()
    scheduled_for = serializers.DateTimeField()
    scheduled_until = serializers.DateTimeField()


class StatusResponseSerializer(serializers.Serializer):
    page = PageSerializer()
    status = StatusSerializer()


class ComponentsResponseSerializer(serializers.Serializer):
    page = PageSerializer()
    components = ComponentSerializer(many=True)


class IncidentsResponseSerializer(serializers.Serializer):
    page = PageSerializer()
    incidents = IncidentSerializer(many=True)


class MaintenancesResponseSerializer(serializers.Serializer):
    page = PageSerializer()
    scheduled_maintenances = MaintenanceSerializer(many=True)


class SummaryResponseSerializer(serializers.Serializer):
    page = PageSerializer()
    components = ComponentSerializer(many=True)
    incidents = IncidentSerializer(many=True)
    scheduled_maintenances = MaintenanceSerializer(many=True)
    status = StatusSerializer()


class HealthComponentSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    status = HealthStateField()
    latencyMs = serializers.IntegerField(allow_null=True)  # noqa: N815 - the wire name


class HealthSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    timestamp = serializers.DateTimeField()
    components = serializers.DictField(child=HealthComponentSerializer(), help_text="Keyed by component slug.")


class HealthCheckSerializer(serializers.Serializer):
    componentId = serializers.CharField()  # noqa: N815
    componentType = serializers.CharField()  # noqa: N815
    observedValue = serializers.FloatField(allow_null=True)  # noqa: N815
    observedUnit = serializers.CharField()  # noqa: N815
    status = CheckStatusField()
    time = serializers.DateTimeField()
    output = serializers.CharField()


class HealthIetfSerializer(serializers.Serializer):
    status = CheckStatusField()
    version = serializers.CharField()
    serviceId = serializers.CharField()  # noqa: N815
    description = serializers.CharField()
    output = serializers.CharField()
    checks = serializers.DictField(child=HealthCheckSerializer(many=True), help_text="Keyed `component:measurement`.")
    links = serializers.DictField(child=serializers.CharField())
