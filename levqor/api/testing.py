"""Helpers for tests that call the API with a key (used by the api and
workflows test suites; importable by later apps' tests)."""

import json

from .models import ApiKey
from .services import IssuedKey, api_key_create


def issue_key(account, *, mode: str = ApiKey.Mode.TEST, name: str = "Test key") -> IssuedKey:
    return api_key_create(account=account, name=name, mode=mode, actor=None)


class ApiCaller:
    """A Django test client that sends one API key as X-Api-Key."""

    def __init__(self, client, secret: str | None):
        self.client = client
        self.secret = secret

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"X-Api-Key": self.secret} if self.secret else {}
        return {**headers, **(extra or {})}

    def get(self, path, data=None, headers=None, **extra):
        return self.client.get(path, data, headers=self.headers(headers), **extra)

    def _send(self, method, path, body, headers, extra):
        payload = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            path, payload, content_type="application/json", headers=self.headers(headers), **extra
        )

    def post(self, path, body=None, headers=None, **extra):
        return self._send("post", path, {} if body is None else body, headers, extra)

    def patch(self, path, body=None, headers=None, **extra):
        return self._send("patch", path, {} if body is None else body, headers, extra)

    def delete(self, path, headers=None, **extra):
        return self.client.delete(path, headers=self.headers(headers), **extra)
