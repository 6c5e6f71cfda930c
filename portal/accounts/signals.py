"""Every change to the registry (admin, shell, import) is written to the landing area at once."""
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.accounts.models import Partner


@receiver([post_save, post_delete], sender=Partner)
def registry_changed(sender, **kwargs):
    from portal.accounts.registry import write_registry

    transaction.on_commit(write_registry)
