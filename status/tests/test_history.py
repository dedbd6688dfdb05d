"""/status/history: every published incident and maintenance by month, back
to the first; each one's permanent page; per component, monthly uptime."""

import gzip
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from status import cache_keys, probes, selectors, services
from status.models import (
    Component,
    ComponentStatus,
    DailyRollup,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
    State,
)
from status.selectors import month_add

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a href="/status/incidents/([a-z0-9]+)">')
MONTH = re.compile(r'<h2 id="month-(\d{4}-\d\d)">')


def this_month() -> date:
    local = timezone.localtime()
    return date(local.year, local.month, 1)


def mid_month(month: date) -> datetime:
    """Noon on the 15th of `month`, in the page's time zone."""
    return timezone.make_aware(datetime.combine(month.replace(day=15), time(12)))


def within_one_month(now: datetime, *, hours: int) -> datetime:
    """`now`, unless it is within the first `hours` hours of a month (UTC):
    then half an hour before that month began, so that a test's last `hours`
    hours fall in one calendar month, whatever the day it runs."""
    month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return now if now - month_start >= timedelta(hours=hours) else month_start - timedelta(minutes=30)


def rollups(components, *, days: int, down: dict[date, int] | None = None) -> None:
    """`days` days of full daily rollups (up to today, UTC) for every
    component; `down` seconds of downtime on some days."""
    today = timezone.now().astimezone(UTC).date()
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                component=c,
                day=today - timedelta(days=n),
                samples=288,
                observed_seconds=86400,
                available_seconds=86400 - (down or {}).get(today - timedelta(days=n), 0),
                downtime_seconds=(down or {}).get(today - timedelta(days=n), 0),
            )
            for c in components.values()
            if not c.is_group
            for n in range(days)
        ]
    )


@pytest.fixture
def archive(components, staff):
    """430 days of rollups; a resolved incident every second month back to
    20 months ago, a maintenance 5 months ago, and a draft that is never shown."""
    rollups(components, days=430)
    published = []
    for back in range(0, 21, 2):
        at = mid_month(month_add(this_month(), -back))
        if at > timezone.now():
            at = timezone.now() - timedelta(minutes=5)
        incident = services.incident_create(
            name=f"Incident {back} months ago",
            impact=Impact.MINOR,
            body=f"Looking at it ({back}).",
            components=[(components["web"], ComponentStatus.PARTIAL_OUTAGE)],
            at=at,
            notify=False,
            actor=staff,
        )
        services.incident_update(
            incident=incident,
            status=IncidentStatus.RESOLVED,
            body=f"Fixed ({back}).",
            at=at + timedelta(minutes=1),
            actor=staff,
        )
        published.append(incident)
    at = mid_month(month_add(this_month(), -5))
    maintenance = services.maintenance_create(
        name="Database upgrade",
        body="A short pause.",
        scheduled_for=at,
        scheduled_until=at + timedelta(hours=1),
        components=[components["database"]],
        at=at - timedelta(days=3),
        actor=staff,
    )
    services.maintenance_set_status(
        maintenance=maintenance, status=MaintenanceStatus.COMPLETED, at=at + timedelta(hours=1), actor=staff
    )
    draft = services.incident_create(
        name="Unconfirmed blip",
        impact=Impact.MAJOR,
        body="Draft.",
        at=mid_month(month_add(this_month(), -3)),
        notify=False,
        draft=True,
        actor=staff,
    )
    return {"incidents": published, "maintenance": maintenance, "draft": draft}


def test_the_history_pages_back_to_the_very_first_incident_three_months_a_page(client, archive):
    first = client.get("/status/history")
    assert first.status_code == 200
    page = first.content.decode()
    months = MONTH.findall(page)
    assert months == [f"{month_add(this_month(), -n):%Y-%m}" for n in range(3)]
    assert "Page 1 of 7" in page and 'rel="prev"' not in page
    assert "No incidents reported." in page  # last month had none

    seen, pages, url = set(), [], "/status/history"
    while url:
        body = client.get(url).content.decode()
        pages.append(MONTH.findall(body))
        seen |= set(LINK.findall(body))
        assert "Unconfirmed blip" not in body
        older = re.search(r'<a href="([^"]+)" rel="next">', body)
        url = older.group(1).replace("&amp;", "&") if older else None

    assert len(pages) == 7 and pages[-1][-1] == f"{month_add(this_month(), -20):%Y-%m}"
    assert [m for p in pages for m in p] == [f"{month_add(this_month(), -n):%Y-%m}" for n in range(21)]
    expected = {i.public_id for i in archive["incidents"]} | {archive["maintenance"].public_id}
    assert seen == expected and archive["draft"].public_id not in seen
    last = client.get("/status/history?page=7").content.decode()
    assert "Incident 20 months ago" in last and "Page 7 of 7" in last and 'rel="next"' not in last
    assert 'href="/status/history?page=6" rel="prev"' in last
    middle = client.get("/status/history?page=2").content.decode()
    assert "Database upgrade" in middle and "Scheduled maintenance" in middle


@pytest.mark.parametrize("bad", ["0", "8", "-1", "abc", "1.5", "99999999999999999999", "", "２"])
def test_a_page_that_does_not_exist_is_a_404_never_a_500(client, archive, bad):
    assert client.get("/status/history", {"page": bad}).status_code == 404


def test_the_first_page_takes_a_handful_of_queries_and_one_rollup_query(client, archive):
    client.get("/status/history?page=2")  # the site banners' status read is cached for a few seconds
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/status/history?page=1").status_code == 200
    rollup_queries = [q["sql"] for q in queries.captured_queries if "status_dailyrollup" in q["sql"]]
    assert len(rollup_queries) == 1 and "SUM" in rollup_queries[0].upper()
    assert len(queries.captured_queries) <= 9

    # The uptime table is kept (page cache generation): no rollup read until results change.
    with CaptureQueriesContext(connection) as queries:
        client.get("/status/history?page=1")
    assert not [q for q in queries.captured_queries if "status_dailyrollup" in q["sql"]]


def test_monthly_uptime_is_summed_per_utc_month_leaving_out_unmeasured_and_announced_maintenance(client, components):
    today = timezone.now().astimezone(UTC).date()
    month = today.replace(day=1)
    last_month = month_add(month, -1)
    web = components["web"]
    # Last month: every day measured, 1 hour down on the 10th, and the 11th half
    # inside announced maintenance (left out of observed and available time).
    days_last_month = (month - last_month).days
    for n in range(days_last_month):
        day = last_month + timedelta(days=n)
        down = 3600 if day.day == 10 else 0
        maintenance = 43200 if day.day == 11 else 0
        DailyRollup.objects.create(
            component=web,
            day=day,
            observed_seconds=86400 - maintenance,
            available_seconds=86400 - maintenance - down,
            downtime_seconds=down,
            maintenance_seconds=maintenance,
        )
    # Eleven months ago: one measured day, all up.
    DailyRollup.objects.create(
        component=web, day=month_add(month, -11), observed_seconds=86400, available_seconds=86400
    )
    # Twelve months ago is outside the table (and its query).
    DailyRollup.objects.create(component=web, day=month_add(month, -12), observed_seconds=86400)

    table = selectors.uptime_by_month(component_ids=[web.pk], last_day=today)[web.pk]
    assert [m.day for m in table] == [month_add(month, n) for n in range(-11, 1)]
    observed = days_last_month * 86400 - 43200
    assert table[-2].uptime == pytest.approx(100 * (observed - 3600) / observed)
    assert table[0].uptime == 100.0 and table[-1].uptime is None

    page = client.get("/status/history").content.decode()
    row = page.split('<tr data-component="web">')[1].split("</tr>")[0]
    expected = f"{min(100 * (observed - 3600) / observed, 99.99):.2f}%"
    assert f'data-month="{last_month:%Y-%m}" data-level="minor downtime">{expected}</td>' in row
    assert f'data-month="{month_add(month, -11):%Y-%m}" data-level="no downtime">100%</td>' in row
    assert f'data-month="{month:%Y-%m}" data-level="no data">no data</td>' in row
    total = 100 * (observed + 86400 - 3600) / (observed + 86400)
    assert f'<td class="uptime-year">{min(total, 99.99):.2f}%</td>' in row

    # /status folds the same 12 months under each component's 90-day bars.
    status = client.get("/status").content.decode()
    web_block = status.split('data-component="web"')[1].split('<div class="component"')[0]
    assert "90 days ago" in web_block
    assert f'Last 12 months: <span class="uptime-year">{min(total, 99.99):.2f}%</span> uptime' in web_block
    assert (
        f'<li data-month="{last_month:%Y-%m}" data-level="minor downtime">'
        f'<abbr title="{last_month:%B %Y}">{last_month:%b %Y}</abbr> {expected}</li>'
    ) in web_block

    # A new result moves the status generation on: the next read shows it.
    DailyRollup.objects.create(
        component=web, day=today, observed_seconds=300, available_seconds=0, downtime_seconds=300
    )
    cache_keys.forget_results()
    row = client.get("/status/history").content.decode().split('<tr data-component="web">')[1].split("</tr>")[0]
    assert f'data-month="{month:%Y-%m}" data-level="major outage">0.00%</td>' in row


@pytest.mark.parametrize(("announced_hours_ahead", "uptime"), [(72, "100%"), (1, "50.00%")])
def test_maintenance_counts_in_monthly_uptime_only_when_announced_48_hours_ahead(
    client, components, stub_probes, staff, announced_hours_ahead, uptime
):
    """The SLA's rule (status.sla, /sla section 2), end to end: snapshot → rollup → the table."""
    now = within_one_month(timezone.now(), hours=2)
    services.snapshot_take(now=now - timedelta(hours=1))  # all up
    maintenance = services.maintenance_create(
        name="Web upgrade",
        body="b",
        scheduled_for=now - timedelta(minutes=1),
        scheduled_until=now + timedelta(hours=1),
        components=[components["web"]],
        at=now - timedelta(hours=announced_hours_ahead),
        actor=staff,
    )
    services.maintenance_advance(now=now)
    stub_probes["web"] = probes.Result(State.DOWN, None, "refused")
    services.snapshot_take(now=now)  # web down, inside the maintenance
    services.rollup_hours(start=now - timedelta(hours=2), end=now + timedelta(hours=1))
    cache_keys.forget_results()

    page = client.get("/status/history").content.decode()
    row = page.split('<tr data-component="web">')[1].split("</tr>")[0]
    month = now.astimezone(UTC).date().replace(day=1)
    assert re.search(rf'data-month="{month:%Y-%m}" data-level="[^"]+">{re.escape(uptime)}</td>', row), row
    assert maintenance.public_id in client.get("/status/history").content.decode()


def test_an_old_resolved_incident_keeps_its_permanent_page_with_its_whole_timeline(client, components, staff, settings):
    long_ago = timezone.now() - timedelta(days=420)
    incident = services.incident_create(
        name="Checkout errors",
        impact=Impact.MAJOR,
        body="Investigating failed checkouts.",
        components=[(components["stripe"], ComponentStatus.MAJOR_OUTAGE), (components["web"], "degraded_performance")],
        at=long_ago,
        notify=False,
        actor=staff,
    )
    services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="A bad deploy.", at=long_ago + timedelta(minutes=9),
        actor=staff,
    )  # fmt: skip
    services.incident_update(
        incident=incident, status=IncidentStatus.RESOLVED, body="Rolled back.", at=long_ago + timedelta(minutes=30),
        actor=staff,
    )  # fmt: skip
    Component.objects.filter(slug="web").update(hidden=True)

    page = client.get(f"/status/incidents/{incident.public_id}").content.decode()

    for text in ("Investigating failed checkouts.", "A bad deploy.", "Rolled back.", "Resolved"):
        assert text in page
    assert page.index("Rolled back.") < page.index("A bad deploy.") < page.index("Investigating failed checkouts.")
    assert "Payments (Stripe) (major outage)" in page and "Web/API" not in page.split("<main")[1]  # hidden: not shown
    canonical = f"{settings.LEVQOR_BASE_URL}/status/incidents/{incident.public_id}"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert 'href="/status/history"' in page


def test_a_completed_maintenance_and_a_draft(client, archive):
    page = client.get(f"/status/incidents/{archive['maintenance'].public_id}").content.decode()
    assert "Database upgrade" in page and "Completed" in page and "Database" in page
    assert '<link rel="canonical"' in page
    assert client.get(f"/status/incidents/{archive['draft'].public_id}").status_code == 404


def test_status_links_the_history_the_monthly_uptime_the_badge_and_the_embed(client, components):
    page = client.get("/status").content.decode()
    recent = page.split('id="recent-heading"')[1].split("</section>")[0]
    assert 'href="/status/history"' in recent
    assert 'href="/status/history#uptime-heading"' in page
    footer = page.split('<footer class="status-footer">')[1].split("</footer>")[0]
    for href in ("/status/history", "/status/badge.svg", "/status/embed"):
        assert f'href="{href}"' in footer


def test_an_empty_history_is_one_page_saying_so(client, db):
    page = client.get("/status/history").content.decode()
    assert "Page 1 of 1" in page and page.count("No incidents reported.") == 1
    assert client.get("/status/history?page=2").status_code == 404


def test_the_first_page_is_one_shared_copy_that_a_new_incident_replaces_at_once(
    client, components, stub_probes, staff, django_capture_on_commit_callbacks
):
    services.heartbeat_beat()
    services.snapshot_take()  # fresh results: nothing to alert on-call about

    first = client.get("/status/history", headers={"accept-encoding": "gzip"})
    assert first["Content-Encoding"] == "gzip"
    assert "Queue stalled" not in gzip.decompress(first.content).decode()
    with CaptureQueriesContext(connection) as queries:
        client.get("/status/history")  # served from the shared copy
    assert not [q for q in queries.captured_queries if "status_incident" in q["sql"]]

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_create(name="Queue stalled", impact=Impact.MINOR, body="b", notify=False, actor=staff)

    assert "Queue stalled" in client.get("/status/history").content.decode()
