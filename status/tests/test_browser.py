import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.slow
def test_the_status_page_draws_bars_and_charts_in_a_real_browser_without_javascript(
    live_server, page, tmp_path, settings
):
    settings.DEBUG = True
    call_command("seed_demo")  # components, 90 days of history, incidents, maintenance
    screenshot = tmp_path / "status.png"

    def drive(page):
        page.set_viewport_size({"width": 1100, "height": 900})
        response = page.goto(f"{live_server.url}/status")
        page.screenshot(path=str(screenshot), full_page=True)
        bars = page.locator("svg.uptime-bars")
        return {
            "status": response.status,
            "banner": page.locator(".overall-banner").inner_text(),
            "bar_charts": bars.count(),
            "bars": page.locator("svg.uptime-bars rect.bar").count(),
            "bar_box": bars.first.bounding_box(),
            "rows_24h": page.locator('svg.chart[data-window="24h"] g.chart-row').count(),
            "lines_7d": page.locator('svg.chart[data-window="7d"] polyline.latency').count(),
            "incident": page.locator("text=Workflow runs delayed").first.is_visible(),
            "hover": page.locator("svg.uptime-bars rect.bar title").last.text_content(),
        }

    seen = drive(page)

    assert seen["status"] == 200
    assert screenshot.stat().st_size > 10_000
    assert seen["banner"] == "All systems operational"
    assert seen["bar_charts"] == 7 and seen["bars"] == 7 * 90
    assert seen["bar_box"]["width"] > 500 and seen["bar_box"]["height"] >= 30  # the stylesheet sized them
    assert seen["rows_24h"] == 7 and seen["lines_7d"] >= 6
    assert seen["incident"] and "uptime" in seen["hover"]


def _archive(staff):
    """Seeded components with 430 days of daily rollups and a resolved
    incident in every third month back to 18 months ago."""
    from datetime import UTC, datetime, time, timedelta

    from django.utils import timezone

    from status import services
    from status.models import Component, ComponentStatus, DailyRollup, Impact, IncidentStatus
    from status.selectors import month_add

    services.components_ensure()
    today = timezone.now().astimezone(UTC).date()
    leaves = list(Component.objects.filter(is_group=False))
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                component=c,
                day=today - timedelta(days=n),
                observed_seconds=86400,
                available_seconds=86400 - (600 if n % 37 == 0 else 0),
                downtime_seconds=600 if n % 37 == 0 else 0,
            )
            for c in leaves
            for n in range(430)
        ],
        ignore_conflicts=True,
    )
    local = timezone.localtime()
    this_month = local.date().replace(day=1)
    for back in range(3, 19, 3):
        month = month_add(this_month, -back)
        at = timezone.make_aware(datetime.combine(month.replace(day=15), time(12)))
        incident = services.incident_create(
            name=f"Slow sign-in {back} months ago",
            impact=Impact.MINOR,
            body="Sign-in links arrive late.",
            components=[(leaves[0], ComponentStatus.DEGRADED_PERFORMANCE)],
            at=at,
            notify=False,
            actor=staff,
        )
        services.incident_update(
            incident=incident, status=IncidentStatus.RESOLVED, body="Fixed.", at=at + timedelta(hours=1), actor=staff
        )


def test_the_history_reads_and_pages_at_phone_width_and_passes_the_accessibility_check(live_server, browser, staff):
    from tests.browser.test_accessibility import _axe_context, _violations

    _archive(staff)
    context = _axe_context(browser, 390, 844)
    page = context.new_page()

    found = _violations(page, f"{live_server.url}/status/history")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    tables = page.locator("table.uptime-months").count()
    cells = page.locator("table.uptime-months td.uptime-cell").count()
    table_scrolls = page.evaluate(
        "() => { const r = document.querySelector('.monthly-uptime .table-scroll');"
        " return r.scrollWidth > r.clientWidth; }"
    )
    heading = page.get_by_role("heading", level=1).inner_text()
    months_first = page.locator("section.history-month h2").all_inner_texts()
    page.get_by_role("link", name="Older →").click()
    page.wait_for_load_state()  # the click returns once the next page starts loading
    months_second = page.locator("section.history-month h2").all_inner_texts()
    second_url = page.url
    while page.get_by_role("link", name="Older →").count():
        page.get_by_role("link", name="Older →").click()
        page.wait_for_load_state()
    last_page = page.locator("main").inner_text()
    found += _violations(page, page.url)
    found += _violations(page, f"{live_server.url}/status/embed")  # the embed passes the same checks
    context.close()

    assert found == [], "\n".join(found)
    assert overflow <= 0 and tables == 1 and table_scrolls  # the table scrolls inside its own box
    assert heading == "Incident history" and cells == 7 * 12
    assert len(months_first) == 3 and len(months_second) == 3 and second_url.endswith("/status/history?page=2")
    assert "Slow sign-in 18 months ago" in last_page and "Older →" not in last_page


def test_another_site_can_frame_the_embed_but_not_the_status_page(live_server, browser):
    from status import services
    from status.selectors import INDICATOR_DESCRIPTION

    services.components_ensure()
    html = (
        "<!doctype html><title>A customer site</title>"
        f'<iframe id="embed" src="{live_server.url}/status/embed"></iframe>'
        f'<iframe id="page" src="{live_server.url}/status"></iframe>'
    ).encode()

    class CustomerSite(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    # Another origin on loopback (Chromium keeps public sites from framing
    # loopback ones whatever our headers say, so the "other site" is local too).
    site = ThreadingHTTPServer(("127.0.0.1", 0), CustomerSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/")
        page.wait_for_load_state("load")
        frames = {f.url.rsplit("/", 1)[-1]: f for f in page.frames if f != page.main_frame}
        embed_text = page.frame_locator("#embed").locator("main").inner_text(timeout=5000)
        status_frame_loaded = frames.get("status") is not None and frames["status"].locator("h1").count() > 0
        refused = [f.url for f in page.frames if f.url.startswith("chrome-error:")]  # the browser refused to frame it
    finally:
        context.close()
        site.shutdown()

    assert any(words in embed_text for words in INDICATOR_DESCRIPTION.values()), embed_text
    # X-Frame-Options DENY and frame-ancestors 'none' still hold for /status.
    assert not status_frame_loaded and len(refused) == 1
