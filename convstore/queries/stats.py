"""A conversation's usage statistics as agent code asks for them (get_usage_stats).

The figures come from branch_usage and usage_totals, the reads the
conversation page shows, so agent code and the dashboard agree to the cent.
"""

from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS

from .display import branch_usage, usage_totals


def _group(rows: list[dict], key: str) -> list[dict]:
    """{name, turns, total_tokens, cost} per value of the rows' key, most tokens first."""
    groups: dict[str | None, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    summed = []
    for name, group in groups.items():
        totals = usage_totals(group)
        summed.append(
            {
                "name": name,
                "turns": totals["turns"],
                "total_tokens": totals["total_tokens"],
                "cost": totals["cost"] if totals["cost"] is not None else Decimal(0),
            }
        )
    summed.sort(key=lambda group: (-group["total_tokens"], group["name"] or ""))
    return summed


def usage_stats(
    session_id: str, branch_id: str | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> dict:
    """Totals over the conversation (or one branch), with cost per model and per agent.

    total_cost sums the turns that have a cost (Decimal USD, 0 when none has);
    priced_turns and unpriced_turns tell whether that sum is complete. A
    turn's name in per_model or per_agent is None when it was recorded without one.
    """
    rows = branch_usage(session_id, [branch_id] if branch_id else None, using=using)
    totals = usage_totals(rows)
    return {
        "requests": totals["requests"],
        "input_tokens": totals["input_tokens"],
        "cached_input_tokens": totals["cached_tokens"],
        "output_tokens": totals["output_tokens"],
        "reasoning_tokens": totals["reasoning_tokens"],
        "total_tokens": totals["total_tokens"],
        "total_turns": totals["turns"],
        "total_cost": totals["cost"] if totals["cost"] is not None else Decimal(0),
        "priced_turns": totals["turns"] - totals["unpriced_turns"],
        "unpriced_turns": totals["unpriced_turns"],
        "per_model": _group(rows, "model_name"),
        "per_agent": _group(rows, "agent_name"),
    }
