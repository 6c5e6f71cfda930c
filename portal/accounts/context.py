from portal.accounts.access import own_partner_id


def membership(request):
    return {"my_partner_id": own_partner_id(request.user) if hasattr(request, "user") else None}
