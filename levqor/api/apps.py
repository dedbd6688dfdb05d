from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiConfig(AppConfig):
    name = "levqor.api"
    label = "api"
    verbose_name = "Developer API"

    def ready(self) -> None:
        # Registers the API-key security scheme with drf-spectacular, whose
        # extensions import DRF's settings: only once every app is loaded.
        from levqor.accounts.models import Account

        from . import keycache, schema  # noqa: F401
        from .models import ApiKey

        # Cached keys (Redis) are outdated by any change to the key or its
        # account; services that write with update() call keycache too.
        def key_changed(sender, instance, **kwargs):
            keycache.keys_forget([instance.secret_hash])

        def account_changed(sender, instance, **kwargs):
            keycache.account_forget(instance.pk)

        post_save.connect(key_changed, sender=ApiKey, weak=False, dispatch_uid="api.keycache.key_saved")
        post_delete.connect(key_changed, sender=ApiKey, weak=False, dispatch_uid="api.keycache.key_deleted")
        post_save.connect(account_changed, sender=Account, weak=False, dispatch_uid="api.keycache.account_saved")
