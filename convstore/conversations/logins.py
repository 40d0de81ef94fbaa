"""Audit entries for the logins that are refused after too many failures."""

from datetime import timedelta

from django.utils import timezone

from ..models import AuditEntry
from .base import audit


def record_login_lockout(
    *, username: str, ip_address: str | None, cool_off: timedelta, using: str = "default"
) -> AuditEntry | None:
    """Audit a lockout once per username and address and cool-off, however often it is tried.

    Every refused attempt reports the lockout again; an attack could otherwise
    fill the audit log. No password or other credential is kept.
    """
    address = ip_address or ""
    label = username or "(no username)"
    already = AuditEntry.objects.using(using).filter(
        action=AuditEntry.Action.LOGIN_LOCKED,
        actor_label=label,
        detail__ip_address=address,
        at__gte=timezone.now() - cool_off,
    )
    if already.exists():
        return None
    return audit(
        AuditEntry.Action.LOGIN_LOCKED, "", actor_label=label, using=using, ip_address=address
    )
