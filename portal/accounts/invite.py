"""DCCE creates a partner's user and hands over a one-time link to set the password (no mail server needed).

The link is Django's password-reset link: the token is bound to the user's current password hash and last
log-in, so it stops working once the password is set, and after PASSWORD_RESET_TIMEOUT."""
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.accounts.models import Membership, Partner


class InviteError(ValueError):
    pass


@transaction.atomic
def invite(partner_id: str, email: str, base_url: str = "http://127.0.0.1:8000") -> str:
    """Create (or re-invite) the user `email` of partner `partner_id`; returns the set-password link."""
    partner_id = partner_id.strip().upper()
    email = email.strip().lower()
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        raise InviteError(f"no partner {partner_id} in the registry")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save()
    member = Membership.objects.filter(user=user).first()
    if member is None:
        if user.is_staff:
            raise InviteError(f"{email} is a DCCE staff account, not a partner's")
        Membership.objects.create(user=user, partner=partner)
    elif member.partner_id != partner_id:
        raise InviteError(f"{email} already belongs to partner {member.partner_id}")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def invite_staff(email: str, base_url: str = "http://127.0.0.1:8000") -> str:
    """A DCCE staff account: the console, and the registry in the admin (with history)."""
    from django.contrib.auth.models import Permission

    email = email.strip().lower()
    User = get_user_model()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if Membership.objects.filter(user=user).exists():
        raise InviteError(f"{email} is a partner's account, not DCCE staff")
    if created:
        user.set_unusable_password()
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts"))
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return base_url.rstrip("/") + reverse("password_reset_confirm",
                                          kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})
