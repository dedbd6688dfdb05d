from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "levqor.accounts"
    label = "accounts"
    verbose_name = "Accounts"
