"""An automated accessibility check (axe-core, vendored) on every public and
customer page, in Chromium at desktop and phone widths: no violation of
serious or critical impact. axe finds about half of the problems a person
would; it is a floor, not a certificate."""

import hashlib
import json
from pathlib import Path

import pytest

from .site import PUBLIC_PAGES, customer_world, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
BLOCKING = {"serious", "critical"}
# WCAG 2.2 A and AA, plus axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# resultTypes: every node of every violation is still reported; passes,
# incomplete and inapplicable results (which nothing here reads) stop at one
# node each, which roughly halves axe's time on a page.
AXE_RUN = "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"


def _axe_context(browser, width: int, height: int = 900):
    """A browser context that brings axe into every page it loads. Injected
    by Playwright, not served by the site: the context bypasses the CSP,
    which rightly refuses any script that is not ours. Given once to the
    context (an init script) rather than sent into each page after it loads
    (about 0.15 s a page for the 650 kB script)."""
    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": height})
    context.add_init_script(path=str(AXE))
    return context


def _violations(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, url
    # The cookie banner is sticky at the bottom of the window: whatever
    # happens to sit under it on load (a footer link, depending on the page's
    # height) is checked where it lands once scrolled, not as "obscured".
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    result = page.evaluate(AXE_RUN, TAGS)
    found = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{url}: {violation['impact']} {violation['id']} ({violation['help']}) at {targets}")
    return found


def test_the_vendored_axe_is_the_recorded_release():
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


@pytest.mark.parametrize("width", [1280, 390])
def test_public_pages_have_no_serious_accessibility_violation(live_server, browser, width, terms_published):
    context = _axe_context(browser, width)
    page = context.new_page()
    found = []
    for path in PUBLIC_PAGES:
        found += _violations(page, f"{live_server.url}{path}")
    context.close()
    assert found == [], "\n" + "\n".join(found)


@pytest.mark.parametrize("width", [1280, 390])
def test_customer_pages_have_no_serious_accessibility_violation(live_server, browser, customer, width):
    pages = customer_world(customer)
    context = _axe_context(browser, width)
    sign_in(context, live_server, customer)
    page = context.new_page()
    found = []
    for path in pages:
        found += _violations(page, f"{live_server.url}{path}")
    # The forms with their errors showing, too.
    page.goto(f"{live_server.url}/sla-credits")
    page.locator("#sla-credit-form").get_by_role("button", name="Send request").click()
    result = page.evaluate(AXE_RUN, TAGS)
    found += [json.dumps(v["id"]) for v in result["violations"] if v["impact"] in BLOCKING]
    context.close()
    assert found == [], "\n" + "\n".join(found)
