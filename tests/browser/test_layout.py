"""Every public and customer page at 1280 px and 390 px (a phone), with
JavaScript off: it loads, has one h1, nothing runs off the side of the
screen, the header fits (a "Menu" on phones), and the cookie banner leaves
the page readable. With LEVQOR_SCREENSHOTS=1, a full-page screenshot of
each is kept for a person to look at (var/browser-screenshots/)."""

import pytest
from playwright.sync_api import expect

from .site import PUBLIC_PAGES, customer_world, screenshot, sign_in, slug

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def _check(page, url: str, width: int) -> list[str]:
    problems = []
    response = page.goto(url)
    if response.status != 200:
        return [f"{url}: HTTP {response.status}"]
    if page.locator("h1").count() != 1:
        problems.append(f"{url}: {page.locator('h1').count()} h1 elements")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems.append(f"{url}: {overflow}px wider than the screen")
    menu = page.locator(".nav-narrow > summary")
    if width < 700 and not (menu.is_visible() and page.locator(".nav-wide").is_hidden()):
        problems.append(f"{url}: the header does not fold into a menu")
    if width >= 700 and not page.locator(".nav-wide").is_visible():
        problems.append(f"{url}: the header links are hidden on a wide screen")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("size", WIDTHS)
def test_every_public_page_fits_the_screen(live_server, browser, size, terms_published):
    width, height = WIDTHS[size]
    context = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    for path in PUBLIC_PAGES:
        problems += _check(page, f"{live_server.url}{path}", width)
        screenshot(page, f"public-{slug(path)}-{width}")
    context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("size", WIDTHS)
def test_every_customer_page_fits_the_screen(live_server, browser, customer, size):
    width, height = WIDTHS[size]
    pages = customer_world(customer)
    context = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": height})
    sign_in(context, live_server, customer)
    page = context.new_page()
    problems = []
    for path in pages:
        problems += _check(page, f"{live_server.url}{path}", width)
        screenshot(page, f"customer-{slug(path)}-{width}")
    context.close()
    assert problems == [], "\n".join(problems)


def test_the_phone_menu_opens_without_javascript(live_server, browser, customer):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    sign_in(context, live_server, customer)
    page = context.new_page()
    page.goto(f"{live_server.url}/pricing")
    menu = page.locator(".nav-narrow")
    assert menu.get_by_role("link", name="Your account").is_hidden()

    menu.locator("summary").click()

    expect(menu.get_by_role("link", name="Your account")).to_be_visible()
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    menu.get_by_role("link", name="Your account").click()
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
    context.close()


def test_the_cookie_banner_takes_at_most_a_quarter_of_a_phone_screen(live_server, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    banner = page.locator("#cookie-banner")
    expect(banner).to_be_visible()
    assert banner.bounding_box()["height"] <= 844 / 4
    expect(banner.get_by_role("button", name="Reject all")).to_be_visible()
    expect(banner.get_by_role("link", name="Choose which cookies")).to_be_visible()
    context.close()


def test_the_header_and_footer_follow_who_is_signed_in(live_server, browser, customer):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    assert page.locator("footer").get_by_role("link", name="Sign in").count() == 1
    expect(page.locator(".nav-wide").get_by_role("link", name="Sign in")).to_be_visible()

    sign_in(context, live_server, customer)
    page.goto(f"{live_server.url}/")

    header = page.locator(".nav-wide")
    assert f"Signed in as {customer.email}" in header.inner_text()
    expect(header.get_by_role("link", name="Your account")).to_be_visible()
    assert header.get_by_role("link", name="Sign in").count() == 0
    footer = page.locator("footer")
    assert footer.get_by_role("link", name="Sign in").count() == 0
    assert footer.get_by_role("link", name="Your account").count() == 1
    context.close()


def test_tables_scroll_inside_their_box_on_a_phone(live_server, browser, customer):
    pages = customer_world(customer)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    sign_in(context, live_server, customer)
    page = context.new_page()
    page.goto(f"{live_server.url}{[p for p in pages if p.startswith('/account/runs/')][0]}")
    box = page.locator(".table-scroll").first
    assert box.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert box.bounding_box()["width"] <= 390
    context.close()
