"""RSS and Atom feeds of incidents (autodiscovery links are on /status)."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from . import selectors
from .models import Incident


class IncidentsRssFeed(Feed):
    title = "Levqor status: incidents"
    description = "Incidents affecting Levqor, with every update."

    def link(self):
        return reverse("status:page")

    def items(self):
        return selectors.incidents_recent(limit=25)

    def item_title(self, item: Incident) -> str:
        return f"{item.name} ({item.get_status_display()})"

    def item_description(self, item: Incident) -> str:
        return "\n\n".join(
            f"{update.get_status_display()} ({update.display_at:%Y-%m-%d %H:%M %Z}): {update.body}"
            for update in item.updates.all()
        )

    def item_link(self, item: Incident) -> str:
        return reverse("status:incident", args=[item.public_id])

    def item_guid(self, item: Incident) -> str:
        return f"levqor-incident-{item.public_id}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Incident):
        return item.started_at

    def item_updateddate(self, item: Incident):
        return item.updated_at


class IncidentsAtomFeed(IncidentsRssFeed):
    feed_type = Atom1Feed
    subtitle = IncidentsRssFeed.description
