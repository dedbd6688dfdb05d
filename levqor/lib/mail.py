"""Templated email, rendered and handed to the email backend: every message
is a subject / text / HTML triple under `templates/emails/<name>/`, rendered
with the same context.

This is the transport only. Who may be sent what (consent, objections,
unsubscribe links) is compliance's policy (`compliance.mail`), and when,
how often and how many times is the outbox's (`compliance.outbox`): apps
queue their emails there, and the outbox calls `send` here.
"""

from html import unescape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"base_url": settings.LEVQOR_BASE_URL, "support_email": settings.LEVQOR_SUPPORT_EMAIL, **context}
    # Plain text is not HTML: undo the template engine's HTML escaping there
    # ("O'Brien", not "O&#x27;Brien"); the HTML part stays escaped.
    subject = " ".join(unescape(render_to_string(f"emails/{name}/subject.txt", context)).split())
    text = unescape(render_to_string(f"emails/{name}/body.txt", context))
    html = render_to_string(f"emails/{name}/body.html", context)
    return subject, text, html


def send(
    name: str,
    *,
    to: str,
    context: dict,
    tags: list[str] | None = None,
    headers: dict | None = None,
) -> str:
    """Render and send one message now (the caller has applied the
    policy); returns the subject as sent. A backend error reaches the
    caller (the outbox records and retries it)."""
    subject, text, html = render(name, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=dict(headers or {}),
    )
    message.attach_alternative(html, "text/html")
    message.tags = [name, *(tags or [])]  # anymail: tags reach the provider and its test backend
    message.send()
    return subject
