from django.utils.functional import SimpleLazyObject

from cobro.navigation import nav_entries_for


def _user_memberships(request):
    from cobro.models import Membership

    return list(
        Membership.objects.select_related("organization")
        .filter(user=request.user)
        .order_by("organization__display_name")
    )


def tenancy(request):
    membership = getattr(request, "membership", None)
    return {
        # All the user's organizations, for the switcher (evaluated only if a template asks).
        "user_memberships": SimpleLazyObject(lambda: _user_memberships(request))
        if membership
        else [],
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "nav_main": nav_entries_for(membership, "main") if membership else [],
        "nav_settings": nav_entries_for(membership, "settings") if membership else [],
    }
