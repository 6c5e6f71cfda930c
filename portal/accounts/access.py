"""Who may see what: a partner's user sees only its own partner; staff see every partner but never act as one.

Every partner URL carries the partner id and goes through `partner_for`; an id that is not the user's own is
a 404 (not a 403: the portal does not confirm that another partner's id exists)."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404

from portal.accounts.models import Partner


def own_partner_id(user) -> str | None:
    m = getattr(user, "membership", None) if user.is_authenticated else None
    return m.partner_id if m else None


def partner_for(request, partner_id: str, write: bool = False) -> Partner:
    """The partner `partner_id` if this user may see it (write: act for it), else 404."""
    user = request.user
    if own_partner_id(user) == partner_id:
        return get_object_or_404(Partner, pk=partner_id)
    if user.is_staff and not write:
        return get_object_or_404(Partner, pk=partner_id)
    raise Http404("no such partner")


def partner_view(write: bool = False):
    """Decorator: log-in required; the view receives the partner (checked) instead of its id."""
    def deco(view):
        @login_required
        @wraps(view)
        def wrapper(request, partner_id, *args, **kwargs):
            return view(request, partner_for(request, partner_id, write=write or request.method == "POST"),
                        *args, **kwargs)
        return wrapper
    return deco


def staff_view(view):
    """Decorator: DCCE staff only; a partner's user gets a 403 and the login page for anonymous users."""
    from django.core.exceptions import PermissionDenied

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapper
