from cobro.models.base import TenantManager, TenantModel, TenantQuerySet
from cobro.models.organization import (
    ROLE_PERMISSIONS,
    ApiKey,
    Invitation,
    Membership,
    Organization,
    Role,
)

__all__ = [
    "ROLE_PERMISSIONS",
    "ApiKey",
    "Invitation",
    "Membership",
    "Organization",
    "Role",
    "TenantManager",
    "TenantModel",
    "TenantQuerySet",
]

from cobro.models.audit import AuditEntry
from cobro.models.events import HandlerRun, OutboxEvent

__all__ += ["AuditEntry", "HandlerRun", "OutboxEvent"]
