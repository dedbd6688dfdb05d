"""Banners on signed-in (and public) pages.

Apps register a provider from `AppConfig.ready()`; a provider takes the
request and returns the banners that apply to it (billing: "Your account is
paused..."; status: an open incident). Providers must be cheap and must not
raise: a failing provider is logged and skipped so a page always renders.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.http import HttpRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Banner:
    level: str  # "info" | "warning" | "danger"
    text: str
    link_url: str = ""
    link_text: str = ""


Provider = Callable[[HttpRequest], Iterable[Banner]]

_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    _providers[name] = provider


def unregister(name: str) -> None:
    _providers.pop(name, None)


def for_request(request: HttpRequest) -> list[Banner]:
    banners: list[Banner] = []
    for name, provider in _providers.items():
        try:
            banners.extend(provider(request))
        except Exception:
            logger.exception("banner provider %s failed", name)
    return banners
