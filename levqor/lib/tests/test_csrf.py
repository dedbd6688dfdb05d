"""levqor.lib.csrf makes the token Django's CSRF check accepts, from one call
for randomness."""

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, _unmask_cipher_token
from django.test import RequestFactory

from levqor.lib import csrf


def test_it_makes_a_new_secret_and_a_token_that_unmasks_to_it():
    request = RequestFactory().get("/status")

    token = csrf.get_token(request)

    secret = request.META["CSRF_COOKIE"]
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert len(secret) == CSRF_SECRET_LENGTH and set(secret) <= set(CSRF_ALLOWED_CHARS)
    assert len(token) == 2 * CSRF_SECRET_LENGTH and set(token) <= set(CSRF_ALLOWED_CHARS)
    assert _unmask_cipher_token(token) == secret


def test_it_masks_the_visitors_existing_secret_afresh_each_time():
    request = RequestFactory().get("/status")
    request.META["CSRF_COOKIE"] = "a" * CSRF_SECRET_LENGTH

    first, second = csrf.get_token(request), csrf.get_token(request)

    assert request.META["CSRF_COOKIE"] == "a" * CSRF_SECRET_LENGTH
    assert first != second
    assert _unmask_cipher_token(first) == _unmask_cipher_token(second) == "a" * CSRF_SECRET_LENGTH


def test_every_character_can_be_drawn():
    drawn = set()
    for _ in range(200):
        request = RequestFactory().get("/status")
        drawn |= set(csrf.get_token(request))

    assert drawn == set(CSRF_ALLOWED_CHARS)
