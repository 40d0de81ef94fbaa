"""Retention figures as people read them."""

from django import template

register = template.Library()

UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


@register.filter
def seconds_as_text(value: int | None) -> str:
    """A TTL in its largest whole unit: 604800 -> "7 days", 5400 -> "90 minutes"."""
    if not value:
        return ""
    for name, size in UNITS:
        if value % size == 0:
            count = value // size
            return f"{count:,} {name}{'' if count == 1 else 's'}"
    return f"{value:,} seconds"


@register.filter
def bytes_as_text(value: int | None) -> str:
    """A size in bytes, in KB/MB/GB (powers of 1024), one decimal."""
    if value is None:
        return "—"
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size):,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""
