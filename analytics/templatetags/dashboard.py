"""Money and token formatting: a cost is shown only where it is known, never made up."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def usd(value: Decimal | float | None) -> str:
    if value is None:
        return ""
    value = Decimal(str(value))
    if value == 0:
        return "$0.00"
    if abs(value) < Decimal("0.01"):
        return f"${value:,.6f}".rstrip("0")
    if abs(value) < 10:
        return f"${value:,.4f}"
    return f"${value:,.2f}"


def _field(source: Any, key: str, default: Any = None) -> Any:
    if isinstance(source, dict):
        return source.get(key, default)
    return getattr(source, key, default)


@register.simple_tag
def turn_cost(usage: dict | None) -> str:
    """One turn's cost, or why there is none."""
    if not usage:
        return mark_safe('<span class="muted">no usage recorded</span>')
    if usage["cost"] is not None:
        return usd(usage["cost"])
    if usage["model_name"]:
        return format_html('<span class="unknown">no price for {}</span>', usage["model_name"])
    return mark_safe('<span class="unknown">unknown model</span>')


@register.simple_tag
def total_cost(totals: Any) -> str:
    """The summed cost of usage rows, saying how many turns it leaves out."""
    turns = _field(totals, "turns") or 0
    unpriced = _field(totals, "unpriced_turns") or 0
    cost = _field(totals, "cost")
    if not turns:
        return mark_safe('<span class="muted">—</span>')
    if cost is None or unpriced >= turns:
        if (_field(totals, "unknown_model_turns") or 0) < turns:
            return mark_safe('<span class="unknown">no price</span>')
        return mark_safe('<span class="unknown">unknown model</span>')
    if unpriced:
        return format_html(
            '{} <span class="unknown" title="turns whose model is unknown or has no price">'
            "+ {} turn{} unpriced</span>",
            usd(cost),
            unpriced,
            "" if unpriced == 1 else "s",
        )
    return usd(cost)


@register.filter
def percent(value: float) -> str:
    return f"{value * 100:.1f}%"
