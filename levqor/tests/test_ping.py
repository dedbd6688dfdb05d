from django.http import HttpResponse
from django.test import RequestFactory
from django.views.decorators.cache import never_cache


def test_ping_answers_pong_never_cached_exactly_as_never_cache_would(client):
    response = client.get("/-/ping")
    cached_never = never_cache(lambda request: HttpResponse("pong\n", content_type="text/plain"))(
        RequestFactory().get("/-/ping")
    )

    assert response.status_code == 200 and response.content == b"pong\n"
    assert response["Cache-Control"] == cached_never["Cache-Control"]
    assert set(response.headers) >= set(cached_never.headers)
    assert "Expires" in response


def test_ping_refuses_a_post_with_405(client):
    assert client.post("/-/ping").status_code == 405
