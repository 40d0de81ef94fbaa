"""Model prices and the cost of a usage row.

Prices are per million tokens and dated: the price in force on a day is the
newest row whose effective_from is on or before it. Cached input tokens are
part of input_tokens and billed at the cached rate; reasoning tokens are part
of output_tokens.
"""

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections

from . import sql
from .models import ModelPrice

MILLION = Decimal(1_000_000)

# Public list prices (USD per 1M tokens: input, cached input, output), as
# published by OpenAI for these models; editable in admin, dated so an edit
# takes effect from its own date on. Migration 0003 seeds a frozen copy of these
# rows: a change here comes with a migration that adds the new rows (the test
# suite checks a fresh database holds these).
DEFAULT_PRICES: dict[str, tuple[str, str, str]] = {
    "gpt-4.1": ("2.00", "0.50", "8.00"),
    "gpt-4.1-mini": ("0.40", "0.10", "1.60"),
    "gpt-4.1-nano": ("0.10", "0.025", "0.40"),
    "gpt-4o": ("2.50", "1.25", "10.00"),
    "gpt-4o-mini": ("0.15", "0.075", "0.60"),
    "o3": ("2.00", "0.50", "8.00"),
    "o4-mini": ("1.10", "0.275", "4.40"),
    "gpt-5": ("1.25", "0.125", "10.00"),
    "gpt-5-mini": ("0.25", "0.025", "2.00"),
    "gpt-5-nano": ("0.05", "0.005", "0.40"),
}
DEFAULT_PRICES_FROM = datetime.date(2025, 1, 1)


class Price(NamedTuple):
    """A model's prices per million tokens (a ModelPrice row serves as one too)."""

    input_per_million: Decimal
    cached_input_per_million: Decimal
    output_per_million: Decimal


# Looked up for every recorded turn: written out once, as the append's statements
# are (building the query with the ORM took longer than running it). Amounts
# come back as text, so SQLite's number affinity never makes them floats.
_PRICE_IN_FORCE_SQL = """
    SELECT CAST(input_per_million AS TEXT), CAST(cached_input_per_million AS TEXT),
        CAST(output_per_million AS TEXT)
    FROM convstore_model_price WHERE model_name = %s AND effective_from <= %s
    ORDER BY effective_from DESC LIMIT 1
"""


def price_in_force(
    model_name: str | None, on: datetime.date, *, using: str = DEFAULT_DB_ALIAS
) -> Price | None:
    if not model_name:
        return None
    day = connections[using].ops.adapt_datefield_value(on)
    rows = sql.fetch(_PRICE_IN_FORCE_SQL, [model_name, day], using=using)
    return Price(*(Decimal(amount) for amount in rows[0])) if rows else None


def cost_of(
    price: Price | ModelPrice | None, *, input_tokens: int, cached_tokens: int, output_tokens: int
) -> Decimal | None:
    if price is None:
        return None
    cached = min(max(cached_tokens, 0), input_tokens)
    return (
        (input_tokens - cached) * price.input_per_million
        + cached * price.cached_input_per_million
        + output_tokens * price.output_per_million
    ) / MILLION
