from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = _("Partners and accounts")

    def ready(self):
        from portal.accounts import signals  # noqa: F401  (the registry file follows every edit)
