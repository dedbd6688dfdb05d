"""Sending templated email: every message is a subject / text / HTML triple
under `templates/emails/<name>/`, rendered with the same context."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"base_url": settings.LEVQOR_BASE_URL, "support_email": settings.LEVQOR_SUPPORT_EMAIL, **context}
    subject = " ".join(render_to_string(f"emails/{name}/subject.txt", context).split())
    text = render_to_string(f"emails/{name}/body.txt", context)
    html = render_to_string(f"emails/{name}/body.html", context)
    return subject, text, html


def send(name: str, *, to: str, context: dict, tags: list[str] | None = None, headers: dict | None = None) -> None:
    """Render and send one message now. Callers decide idempotency (claim a
    row first) and call this from `transaction.on_commit` or a task."""
    subject, text, html = render(name, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
    )
    message.attach_alternative(html, "text/html")
    message.tags = [name, *(tags or [])]  # anymail: tags reach the provider and its test backend
    message.send()
