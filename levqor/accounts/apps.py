from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "levqor.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from compliance.outbox import kinds

        from . import services  # imports models: only once the registry is ready

        kinds.register("accounts.sign-in-link", prepare=services.login_link_prepare)
