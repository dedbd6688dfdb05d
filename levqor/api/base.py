"""The base class for key-authenticated endpoints of any app."""

from rest_framework.generics import GenericAPIView


class AccountApi(GenericAPIView):
    """An endpoint that acts for the calling key's account.

    Everything (auth, burst limit, quota, JSON, error format) comes from
    REST_FRAMEWORK; this adds the names every such view needs. Scope every
    query with `self.account` (and `self.sandbox` for data that has a mode)
    and answer other accounts' objects with `NotFound`, never 403.
    """

    @property
    def principal(self):
        return self.request.user  # levqor.api.authentication.ApiPrincipal

    @property
    def account(self):
        return self.principal.account

    @property
    def sandbox(self) -> bool:
        return self.principal.sandbox

    def audit_actor(self) -> dict:
        """Keyword arguments for services: no user, labelled with the key."""
        return {"actor": None, "actor_label": self.principal.audit_label}
