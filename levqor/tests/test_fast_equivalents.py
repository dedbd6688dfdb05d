"""The fast lane's equivalents of Django's middleware (levqor.middleware.
FAST_EQUIVALENTS) and `LeanResponse` put exactly the headers Django's own
would, in the same order, whatever the response already carries."""

import itertools

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.middleware import clickjacking, common, security
from django.test import RequestFactory

from levqor import middleware
from levqor.lib import correlation
from levqor.lib.http import LeanResponse

PRESET = [
    {},
    {"X-Content-Type-Options": "custom"},
    {"Referrer-Policy": "no-referrer"},
    {"Cross-Origin-Opener-Policy": "unsafe-none"},
    {"Strict-Transport-Security": "max-age=1"},
    {"X-Frame-Options": "SAMEORIGIN"},
    {"Content-Length": "3"},
]


def _response(preset: dict, *, exempt: bool = False, status: int = 200):
    response = HttpResponse(b"hello", status=status)
    for name, value in preset.items():
        response[name] = value
    if exempt:
        response.xframe_options_exempt = True
    return response


def _after(middleware_class, request, response):
    instance = middleware_class(lambda r: response)
    return list(instance.process_response(request, response).items())


SECURITY_SETTINGS = [
    {"SECURE_HSTS_SECONDS": 0},
    {"SECURE_HSTS_SECONDS": 31536000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True},
    {"SECURE_HSTS_SECONDS": 60, "SECURE_CONTENT_TYPE_NOSNIFF": False, "SECURE_REFERRER_POLICY": None},
    {"SECURE_REFERRER_POLICY": ["same-origin", "strict-origin"], "SECURE_CROSS_ORIGIN_OPENER_POLICY": None},
    {"SECURE_REFERRER_POLICY": " same-origin , origin "},
]


@pytest.mark.parametrize("changes", SECURITY_SETTINGS)
@pytest.mark.parametrize(("preset", "secure"), list(itertools.product(PRESET, [False, True])))
def test_the_security_headers_are_djangos(settings, changes, preset, secure):
    for name, value in changes.items():
        setattr(settings, name, value)
    request = RequestFactory().get("/-/ping", secure=secure)
    django_headers = _after(security.SecurityMiddleware, request, _response(preset))
    assert _after(middleware.SecurityMiddleware, request, _response(preset)) == django_headers


@pytest.mark.parametrize("setting", ["DENY", "sameorigin"])
@pytest.mark.parametrize(("preset", "exempt"), list(itertools.product(PRESET, [False, True])))
def test_the_frame_header_is_djangos(settings, setting, preset, exempt):
    settings.X_FRAME_OPTIONS = setting
    request = RequestFactory().get("/status")
    django_headers = _after(clickjacking.XFrameOptionsMiddleware, request, _response(preset, exempt=exempt))
    assert _after(middleware.XFrameOptionsMiddleware, request, _response(preset, exempt=exempt)) == django_headers


@pytest.mark.parametrize("status", [200, 304, 404])
@pytest.mark.parametrize("preset", PRESET)
def test_the_content_length_is_djangos(preset, status):
    request = RequestFactory().get("/api/workflows")
    django_headers = _after(common.CommonMiddleware, request, _response(preset, status=status))
    assert _after(middleware.CommonMiddleware, request, _response(preset, status=status)) == django_headers


def test_a_streamed_answer_gets_no_content_length_from_either():
    request = RequestFactory().get("/exports/1")
    for middleware_class in (common.CommonMiddleware, middleware.CommonMiddleware):
        response = StreamingHttpResponse(iter([b"a", b"b"]))
        assert "Content-Length" not in dict(_after(middleware_class, request, response))


def test_a_lean_response_hands_the_server_the_same_headers():
    def build(response_class):
        response = response_class(b"{}", content_type="application/json")
        response["X-One"] = "1"
        response["x-two"] = "2"
        response["X-ONE"] = "replaced"  # same header, other case: replaced in place
        response["Vary"] = "Accept"
        del response["x-two"]
        response["X-Three"] = "café"  # non-ASCII: MIME-encoded by Django on the way in
        return response

    assert list(build(LeanResponse).items()) == list(build(HttpResponse).items())


@pytest.mark.parametrize("candidate", ["abcdefgh\n", "abcdefgh\r\n", "a b c d e f g h", "short", "x" * 65])
def test_an_unsafe_request_id_is_replaced(candidate):
    cleaned = correlation.clean(candidate)
    assert cleaned != candidate
    assert len(cleaned) == 32


def test_a_plain_request_id_is_kept():
    assert correlation.clean("req-2026.11.30:abc") == "req-2026.11.30:abc"
