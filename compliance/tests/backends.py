"""Email backends for tests that need the provider to fail."""

from django.core.mail.backends.base import BaseEmailBackend


class UnreachableBackend(BaseEmailBackend):
    """The provider cannot be reached: every send raises, as SMTP or an HTTP API would."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the email provider refused the connection")
