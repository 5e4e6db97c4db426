from cobro.navigation import nav_entries_for


def tenancy(request):
    membership = getattr(request, "membership", None)
    return {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "nav_main": nav_entries_for(membership, "main") if membership else [],
        "nav_settings": nav_entries_for(membership, "settings") if membership else [],
    }
