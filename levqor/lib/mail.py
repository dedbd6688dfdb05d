"""Templated email, rendered and handed to the email backend: every message
is a subject / text / HTML triple under `templates/emails/<name>/`, rendered
with the same context.

This is the transport only. Who may be sent what (consent, objections,
unsubscribe links) is compliance's policy: apps call `compliance.mail.send`,
which calls `send` here. Each outcome is announced with `signals.email_sent`
/ `signals.email_failed` (the levqor app records failures for staff) without
this module knowing who listens.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from . import signals


def render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"base_url": settings.LEVQOR_BASE_URL, "support_email": settings.LEVQOR_SUPPORT_EMAIL, **context}
    subject = " ".join(render_to_string(f"emails/{name}/subject.txt", context).split())
    text = render_to_string(f"emails/{name}/body.txt", context)
    html = render_to_string(f"emails/{name}/body.html", context)
    return subject, text, html


def send(
    name: str,
    *,
    to: str,
    context: dict,
    purpose: str,
    tags: list[str] | None = None,
    headers: dict | None = None,
) -> None:
    """Render and send one message now, whatever its purpose (the caller has
    applied the policy). If the backend raises, `email_failed` is sent (in
    the caller's transaction) and the error re-raised; on success,
    `email_sent`."""
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
    try:
        message.send()
    except Exception as exc:
        signals.email_failed.send(sender=__name__, name=name, to=to, purpose=purpose, error=exc)
        raise
    signals.email_sent.send(sender=__name__, name=name, to=to, purpose=purpose)
