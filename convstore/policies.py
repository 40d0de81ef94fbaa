"""The retention policies, in days: read from the environment and from Django's settings.

CONVSTORE_RETAIN_DAYS  a conversation idle that long moves to the trash (unset: never)
CONVSTORE_TRASH_DAYS   a conversation in the trash that long is purged (default 30;
                       "never" keeps the trash forever)

The settings hold a whole number of days or None. The code reads them where
they are used (retention_policies()), so override_settings changes them.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_TRASH_DAYS = 30
NEVER = "never"


def parse_days(name: str, value: str | None, *, default: int | None, never: bool) -> int | None:
    """A number of days from an environment value; None for unset (or "never" where allowed)."""
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    if never and text == NEVER:
        return None
    if text.isdigit() and int(text) > 0:
        return int(text)
    allowed = f'a whole number of days or "{NEVER}"' if never else "a whole number of days"
    raise ImproperlyConfigured(f"{name} must be {allowed} (at least 1), not {value!r}")


def _setting_days(name: str, default: int | None) -> int | None:
    value = getattr(settings, name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of days (at least 1) or None")
    return value


@dataclass(frozen=True)
class Policies:
    retain_days: int | None
    trash_days: int | None

    @property
    def any(self) -> bool:
        return self.retain_days is not None or self.trash_days is not None

    def idle_cutoff(self, now: datetime.datetime) -> datetime.datetime | None:
        """Conversations last active before this go to the trash; None: the rule is off."""
        return now - datetime.timedelta(days=self.retain_days) if self.retain_days else None

    def trash_cutoff(self, now: datetime.datetime) -> datetime.datetime | None:
        """Conversations trashed before this are purged; None: the trash is kept."""
        return now - datetime.timedelta(days=self.trash_days) if self.trash_days else None

    def purge_date(self, deleted_at: datetime.datetime | None) -> datetime.datetime | None:
        if deleted_at is None or self.trash_days is None:
            return None
        return deleted_at + datetime.timedelta(days=self.trash_days)

    def idle_trash_date(self, updated_at: datetime.datetime | None) -> datetime.datetime | None:
        if updated_at is None or self.retain_days is None:
            return None
        return updated_at + datetime.timedelta(days=self.retain_days)


def retention_policies() -> Policies:
    """The policies in force, from the Django settings."""
    return Policies(
        retain_days=_setting_days("CONVSTORE_RETAIN_DAYS", None),
        trash_days=_setting_days("CONVSTORE_TRASH_DAYS", DEFAULT_TRASH_DAYS),
    )
