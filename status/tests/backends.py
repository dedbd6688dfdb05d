"""An email backend that fails like an unreachable provider (the outside world)."""

from django.core.mail.backends.base import BaseEmailBackend


class UnreachableBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the email provider is unreachable")
