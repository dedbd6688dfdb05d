from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "levqor.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported here: both import models, which Django loads after every AppConfig module.
        from compliance.outbox import kinds

        from . import services

        kinds.register("accounts.sign-in-link", prepare=services.login_link_prepare)
