"""Wire formats of the Statuspage-compatible manage API (/api/v1/).

The objects are Statuspage's manage API v1 objects (page, component,
incident, incident update, subscriber) with exactly their field names; the
fields Levqor has no notion of (Twitter, postmortems, page CSS, SMS, ...)
are present with an empty value, so clients generated from Statuspage's
reference parse our answers unchanged. Components and incidents start from
the v2 shapes in `status.formats` (one mapping of our models to Statuspage).
"""

from datetime import datetime

from django.conf import settings

from . import formats
from .models import (
    Component,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
    Subscriber,
    WebhookSubscriber,
)
from .state import Evaluation, component_status

iso = formats.iso


def page_dict(*, updated_at: datetime, created_at: datetime | None = None) -> dict:
    """Statuspage's page object for this console's one status page."""
    return {
        "id": settings.LEVQOR_STATUS_PAGE_ID,
        "created_at": iso(created_at or updated_at),
        "updated_at": iso(updated_at),
        "name": "Levqor",
        "page_description": "The status of the Levqor console and its API.",
        "headline": None,
        "branding": "basic",
        "subdomain": None,
        "domain": None,
        "url": formats.page_url(),
        "support_url": None,
        "hidden_from_search": False,
        "allow_page_subscribers": True,
        "allow_incident_subscribers": False,
        "allow_email_subscribers": True,
        "allow_sms_subscribers": False,
        "allow_rss_atom_feeds": True,
        "allow_webhook_subscribers": True,
        "notifications_from_email": settings.DEFAULT_FROM_EMAIL,
        "notifications_email_footer": None,
        "activity_score": 0,
        "twitter_username": None,
        "viewers_must_be_team_members": False,
        "ip_restrictions": None,
        "city": None,
        "state": None,
        "country": None,
        "time_zone": settings.TIME_ZONE,
        "css_body_background_color": "#ffffff",
        "css_font_color": "#333333",
        "css_light_font_color": "#757575",
        "css_greens": "#2e7d32",
        "css_yellows": "#b26a00",
        "css_oranges": "#c45100",
        "css_blues": "#1f5fbf",
        "css_reds": "#c62828",
        "css_border_color": "#e0e0e0",
        "css_graph_color": "#1f5fbf",
        "css_link_color": "#1f5fbf",
        "css_no_data": "#b0b0b0",
        "favicon_logo": None,
        "transactional_logo": None,
        "hero_cover": None,
        "email_logo": None,
        "twitter_logo": None,
    }


def lookup(evaluation: Evaluation, components: list[Component]) -> formats.Lookup:
    """Every component's evaluated status (hidden ones too: staff manage
    them) and the public id of every group."""
    return formats.Lookup(
        statuses={c.id: c.status for c in evaluation.components},
        groups={c.pk: c.public_id for c in components if c.is_group},
    )


def component_dict(component: Component, found: formats.Lookup, children: list[Component] | None = None) -> dict:
    status = found.statuses.get(component.pk) or component_status(component.state)
    data = formats.component_dict(component, status, found)
    if component.is_group:
        data["components"] = [child.public_id for child in children or []]
    data["automation_email"] = None
    return data


def _update_dict(update, *, parent_id: str, affected) -> dict:
    return {
        "id": update.public_id,
        "incident_id": parent_id,
        "affected_components": affected,
        "body": update.body,
        "created_at": iso(update.created_at),
        "custom_tweet": None,
        "deliver_notifications": update.deliver_notifications,
        "display_at": iso(update.display_at),
        "status": update.status,
        "tweet_id": None,
        "twitter_updated_at": None,
        "updated_at": iso(getattr(update, "updated_at", None) or update.created_at),
        "wants_twitter_update": False,
    }


def incident_update_dict(update: IncidentUpdate, *, parent_id: str) -> dict:
    return _update_dict(update, parent_id=parent_id, affected=update.affected_components or None)


def maintenance_update_dict(update: MaintenanceUpdate, *, parent_id: str) -> dict:
    return _update_dict(update, parent_id=parent_id, affected=None)


_NOT_SCHEDULED = {
    "scheduled_for": None,
    "scheduled_until": None,
    "scheduled_remind_prior": False,
    "scheduled_reminded_at": None,
    "scheduled_auto_in_progress": False,
    "scheduled_auto_completed": False,
    "auto_transition_deliver_notifications_at_end": False,
    "auto_transition_deliver_notifications_at_start": False,
    "auto_transition_to_maintenance_state": False,
    "auto_transition_to_operational_state": False,
}
_NO_POSTMORTEM = {
    "postmortem_body": None,
    "postmortem_body_last_updated_at": None,
    "postmortem_ignored": True,
    "postmortem_notified_subscribers": False,
    "postmortem_notified_twitter": False,
    "postmortem_published_at": None,
}


def incident_dict(incident: Incident, found: formats.Lookup) -> dict:
    """Statuspage's incident object (manage API) for an incident."""
    data = formats.incident_dict(incident, found)
    data["components"] = [component_dict(a.component, found) for a in incident.affected.all()]
    data["incident_updates"] = [incident_update_dict(u, parent_id=incident.public_id) for u in incident.updates.all()]
    return {
        **data,
        "impact_override": incident.impact_override or None,
        "metadata": {},
        **_NO_POSTMORTEM,
        **_NOT_SCHEDULED,
    }


def maintenance_dict(maintenance: Maintenance, found: formats.Lookup) -> dict:
    """A scheduled maintenance as Statuspage's manage API shows it: an
    incident object with the scheduling fields filled in."""
    data = formats.maintenance_dict(maintenance, found)
    data["components"] = [component_dict(c, found) for c in maintenance.components.all()]
    data["incident_updates"] = [
        maintenance_update_dict(u, parent_id=maintenance.public_id) for u in maintenance.updates.all()
    ]
    return {
        **data,
        "impact_override": None,
        "metadata": {},
        **_NO_POSTMORTEM,
        "scheduled_for": iso(maintenance.scheduled_for),
        "scheduled_until": iso(maintenance.scheduled_until),
        "scheduled_remind_prior": False,
        "scheduled_reminded_at": None,
        "scheduled_auto_in_progress": maintenance.auto_start,
        "scheduled_auto_completed": maintenance.auto_complete,
        # Our components show under_maintenance while it is in progress and
        # their own status after it; subscribers are told when it starts.
        "auto_transition_deliver_notifications_at_end": False,
        "auto_transition_deliver_notifications_at_start": True,
        "auto_transition_to_maintenance_state": True,
        "auto_transition_to_operational_state": True,
    }


# Email subscribers keep their number as id; webhook subscribers (another
# table) are "wh_" + their public id, so the two never collide.
WEBHOOK_ID_PREFIX = "wh_"


def subscriber_id(subscriber: Subscriber | WebhookSubscriber) -> str:
    if isinstance(subscriber, WebhookSubscriber):
        return WEBHOOK_ID_PREFIX + subscriber.public_id
    return str(subscriber.pk)


def subscriber_key(value: str) -> tuple[str, str] | None:
    """What a subscriber id names: ("webhook", public id) or ("email", number); None if neither."""
    if value.startswith(WEBHOOK_ID_PREFIX):
        key = value.removeprefix(WEBHOOK_ID_PREFIX)
        return ("webhook", key) if key.isascii() and key.isalnum() and len(key) <= 12 else None
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return "email", value
    return None


def subscriber_dict(subscriber: Subscriber | WebhookSubscriber, *, component_ids: list[str]) -> dict:
    """Statuspage's subscriber object for an email or webhook subscriber.
    `components` are the ones it chose, else (none chosen: all, including
    any added later) `component_ids`, every component on the page. A
    webhook's `email` is its owner's; one disabled after repeated failures
    is quarantined."""
    webhook = isinstance(subscriber, WebhookSubscriber)
    chosen = [c.public_id for c in subscriber.components.all()]
    return {
        "id": subscriber_id(subscriber),
        "skip_confirmation_notification": False,
        "mode": "webhook" if webhook else "email",
        "email": subscriber.email,
        "endpoint": subscriber.endpoint if webhook else None,
        "phone_number": None,
        "phone_country": None,
        "display_phone_number": None,
        "obfuscated_channel_name": None,
        "workspace_name": None,
        "quarantined_at": iso(subscriber.disabled_at) if webhook and not subscriber.unsubscribed_at else None,
        "purge_at": None,
        "components": chosen or component_ids,
        "page_access_user_id": None,
        "created_at": iso(subscriber.created_at),
    }
