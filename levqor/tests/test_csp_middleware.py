from csp.middleware import CSPMiddleware as DjangoCspMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from levqor.middleware import CSPMiddleware


def _answer(middleware_class, view):
    request = RequestFactory().get("/")
    return middleware_class(lambda r: view(r))(request)


def test_it_sends_the_same_policy_as_django_csp():
    plain = _answer(CSPMiddleware, lambda r: HttpResponse("ok"))
    assert (
        plain["Content-Security-Policy"]
        == _answer(DjangoCspMiddleware, lambda r: HttpResponse("ok"))["Content-Security-Policy"]
    )
    assert "'nonce-" not in plain["Content-Security-Policy"]


def test_a_page_that_uses_a_nonce_gets_its_own_policy():
    def view(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    response = _answer(CSPMiddleware, view)
    nonce = response.content.decode().split("nonce='")[1].split("'")[0]
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    assert "'nonce-" not in _answer(CSPMiddleware, lambda r: HttpResponse("ok"))["Content-Security-Policy"]


def test_a_view_that_changes_or_drops_the_policy_gets_what_django_csp_gives():
    from csp.decorators import csp_exempt, csp_update

    exempt = csp_exempt()(lambda r: HttpResponse("ok"))
    assert "Content-Security-Policy" not in _answer(CSPMiddleware, exempt)

    updated = csp_update({"img-src": ["https://example.com"]})(lambda r: HttpResponse("ok"))
    policy = _answer(CSPMiddleware, updated)["Content-Security-Policy"]
    assert "https://example.com" in policy
    assert policy == _answer(DjangoCspMiddleware, updated)["Content-Security-Policy"]
