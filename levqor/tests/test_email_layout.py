"""Every HTML email shares the branded layout (templates/emails/_base.html),
and greets the person by name where the email knows who they are."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from levqor.lib import mail as lib_mail

EMAILS = sorted(p.name for p in (Path(settings.BASE_DIR) / "templates" / "emails").iterdir() if p.is_dir())


@pytest.mark.parametrize("name", EMAILS)
def test_it_renders_every_html_email_in_the_branded_layout(name):
    _subject, _text, html = lib_mail.render(name, {})

    assert html.lstrip().lower().startswith("<!doctype html>") and html.count("<body") == 1
    assert f'<a href="{settings.LEVQOR_BASE_URL}"' in html and "Levqor</a>" in html
    assert "AI workflow automation for small businesses" in html


def test_it_greets_the_person_by_name_when_known():
    person = SimpleNamespace(name="Ada Lovelace", email="ada@example.com")
    export = SimpleNamespace(user=person)

    _subject, text, html = lib_mail.render("dsar-export-ready", {"export": export, "link": "https://x.test/d"})

    assert text.startswith("Hello Ada Lovelace,") and "<p>Hello Ada Lovelace,</p>" in html
    _subject, text, _html = lib_mail.render("dsar-export-ready", {"export": SimpleNamespace(user=None)})
    assert text.startswith("Hello,")
