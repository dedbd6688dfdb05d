"""Branded 404 and 500 pages (DEBUG off, as in production) and the favicon."""

import logging

import pytest

pytestmark = pytest.mark.django_db


def failing_context_processor(request):
    raise RuntimeError("context processor down")


def test_it_answers_an_unknown_page_with_the_branded_404(client, settings):
    assert settings.DEBUG is False
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="ref-404-abcdef")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We could not find that page" in page
    assert 'class="site-header"' in page and "Pricing" in page  # the site look
    assert 'rel="icon"' in page
    assert "ref-404-abcdef" in page  # the reference to quote
    assert "Page not found" in page and "urlpatterns" not in page


@pytest.mark.urls("levqor.pages.tests.urls_errors")
def test_it_answers_a_crash_with_the_branded_500_and_a_reference_to_quote(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/boom", HTTP_X_REQUEST_ID="ref-500-abcdef")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "ref-500-abcdef" in page and response["X-Request-ID"] == "ref-500-abcdef"
    assert "Traceback" not in page and "sk_live_do_not_show" not in page and "RuntimeError" not in page
    assert 'rel="icon"' in page and "/static/css/site.css" in page
    # Staff find the trace in the log under the same id.
    assert any("/boom" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.urls("levqor.pages.tests.urls_errors")
def test_it_renders_the_500_page_when_context_processors_fail_too(client, settings):
    # A failing banner source, cache or database must not take the error page down with it.
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {
                **settings.TEMPLATES[0]["OPTIONS"],
                "context_processors": [
                    *settings.TEMPLATES[0]["OPTIONS"]["context_processors"],
                    "levqor.pages.tests.test_errors.failing_context_processor",
                ],
            },
        }
    ]
    client.raise_request_exception = False
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert response["X-Request-ID"] in page


def test_it_serves_a_self_hosted_favicon_that_pages_link(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in response["Cache-Control"]
    home = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.ico">' in home
    assert client.head("/favicon.ico").status_code == 200


def test_it_links_the_favicon_from_the_admin(staff_client):
    assert '<link rel="icon" href="/static/favicon.ico">' in staff_client.get("/admin/").content.decode()
