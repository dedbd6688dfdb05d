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
