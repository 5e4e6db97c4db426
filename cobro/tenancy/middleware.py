"""Staff-side tenancy: resolve the current organization from the user's memberships."""

from __future__ import annotations

from cobro.models import Membership
from cobro.tenancy.context import reset_current_organization, set_current_organization

SESSION_KEY = "cobro_organization_id"


class TenantMiddleware:
    """Sets ``request.organization`` / ``request.membership`` for signed-in staff.

    The organization is the one chosen in the session (organization switcher) if the user is a
    member of it, else the user's first membership. API and portal requests set their tenant in
    their own base views; this middleware leaves them alone when the user has no membership.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = Membership.objects.select_related("organization").filter(user=user)
            wanted = request.session.get(SESSION_KEY)
            membership = None
            if wanted:
                membership = next((m for m in memberships if m.organization_id == wanted), None)
            if membership is None:
                membership = memberships.order_by("created_at").first()
            if membership is not None:
                request.membership = membership
                request.organization = membership.organization
        token = set_current_organization(request.organization)
        try:
            return self.get_response(request)
        finally:
            reset_current_organization(token)
