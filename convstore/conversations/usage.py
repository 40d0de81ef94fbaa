"""Recording a run's usage, and the explicit, audited re-pricing of old turns."""

from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from .. import pricing, sql
from ..models import (
    MAIN_BRANCH,
    AuditEntry,
    MessageStructure,
    ModelPrice,
    TurnUsage,
)
from ..queries.sessions import USAGE_FIELDS
from .base import (
    ON_MAIN,
    ConversationInTrash,
    Position,
    audit,
    lock_conversation,
    lock_existing_conversation,
)

# --- usage -------------------------------------------------------------------


def usage_details_dict(details: Any) -> dict | None:
    if not details:
        return None
    return dict(details.__dict__) if hasattr(details, "__dict__") else dict(details)


def _branch_has_rows(session_id: str, branch_id: str, *, using: str) -> bool:
    """Whether the branch holds any item: items before the first user message are
    turn 0, and their usage is stored at turn 0, as the SDK does."""
    rows = MessageStructure.objects.using(using).filter(session_id=session_id, branch_id=branch_id)
    return rows.exists()


def _replace_turn_usage(
    session_id: str,
    branch_id: str,
    turn: int,
    usage: Any,
    model_name: str | None,
    agents: list[str] | None,
    *,
    using: str,
) -> None:
    """The turn's usage row, inserted or replaced in one statement (an upsert)."""
    input_details = usage_details_dict(getattr(usage, "input_tokens_details", None))
    now = timezone.now()
    price = pricing.price_in_force(model_name, now.date(), using=using)
    replaced = {
        "requests": usage.requests or 0,
        "input_tokens": usage.input_tokens or 0,
        "output_tokens": usage.output_tokens or 0,
        "total_tokens": usage.total_tokens or 0,
        "input_tokens_details": input_details,
        "output_tokens_details": usage_details_dict(getattr(usage, "output_tokens_details", None)),
        "model_name": model_name,
        "cost": pricing.cost_of(
            price,
            input_tokens=usage.input_tokens or 0,
            cached_tokens=(input_details or {}).get("cached_tokens") or 0,
            output_tokens=usage.output_tokens or 0,
        ),
        "created_at": now,
        "agent_name": agents[-1] if agents else None,
        "agents": list(agents) if agents else None,
    }
    connection = connections[using]
    # Each value as the ORM would write it to this database.
    params = [session_id, branch_id, turn] + [
        TurnUsage._meta.get_field(name).get_db_prep_save(replaced[name], connection)
        for name in _REPLACED_FIELDS
    ]
    with sql.cursor(using) as cursor:
        cursor.execute(_REPLACE_TURN_USAGE_SQL, params)


# What a new record of a turn's usage replaces: all but the row's identity. Run
# on every agent turn, so written out once, as the append's statements are.
_REPLACED_FIELDS = (*USAGE_FIELDS, "model_name", "cost", "created_at", "agent_name", "agents")
_REPLACE_TURN_USAGE_SQL = f"""
    INSERT INTO turn_usage (session_id, branch_id, user_turn_number, {", ".join(_REPLACED_FIELDS)})
    VALUES (%s, %s, %s, {", ".join(["%s"] * len(_REPLACED_FIELDS))})
    ON CONFLICT (session_id, branch_id, user_turn_number) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _REPLACED_FIELDS)}
"""


def record_usage(
    *,
    session_id: str,
    usage: Any,
    model_name: str | None = None,
    agents: list[str] | None = None,
    position: Position = ON_MAIN,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[int | None, Position]:
    """Store a run's usage as the current turn's usage (replacing it).

    agents: the names of the agents that took part, in the order they first
    ran, the one that answered last.

    Returns the turn stored (None when nothing was) and the position from now
    on: main, when the conversation was cleared since the position was taken;
    nothing is stored then, nor when the branch holds no turn. The cost is
    fixed now, from the price in force today.
    """
    with transaction.atomic(using=using):
        locked = lock_conversation(session_id, using=using, turns_of=position.branch_id)
        if locked is None:
            return None, position
        if locked.deleted_at is not None:
            raise ConversationInTrash(session_id)
        if locked.generation != position.generation:
            return None, Position(MAIN_BRANCH, locked.generation)
        turn, _branch_turn = locked.turns
        if turn == 0 and not _branch_has_rows(session_id, position.branch_id, using=using):
            return None, position
        _replace_turn_usage(
            session_id, position.branch_id, turn, usage, model_name, agents, using=using
        )
    return turn, position


# --- re-pricing --------------------------------------------------------------

COST_STEP = Decimal("1e-10")  # turn_usage.cost has 10 decimal places


def _price_on(prices: list, day) -> Any:
    """The newest of a model's prices (newest first) in force on the day."""
    return next((price for price in prices if price.effective_from <= day), None)


def reprice_usage(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute the fixed cost of a conversation's usage rows from the price table.

    Each row gets the price in force on the day it was recorded: a corrected
    price, or one added for a model that had none, reaches history only
    through this explicit, audited call. Returns how many rows changed.
    """
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using)
        rows = list(TurnUsage.objects.using(using).filter(session_id=session_id).order_by("id"))
        prices: dict[str, list] = {}
        for price in (
            ModelPrice.objects.using(using)
            .filter(model_name__in={row.model_name for row in rows if row.model_name})
            .order_by("model_name", "-effective_from")
        ):
            prices.setdefault(price.model_name, []).append(price)
        changed, before, after = [], Decimal(0), Decimal(0)
        for row in rows:
            details = row.input_tokens_details if isinstance(row.input_tokens_details, dict) else {}
            cost = pricing.cost_of(
                _price_on(prices.get(row.model_name, []), row.created_at.date()),
                input_tokens=row.input_tokens,
                cached_tokens=details.get("cached_tokens") or 0,
                output_tokens=row.output_tokens,
            )
            cost = cost.quantize(COST_STEP) if cost is not None else None
            before += row.cost or 0
            after += cost or 0
            if cost != row.cost:
                row.cost = cost
                changed.append(row)
        TurnUsage.objects.using(using).bulk_update(changed, ["cost"])
        audit(
            AuditEntry.Action.REPRICE,
            session_id,
            actor=actor,
            using=using,
            rows=len(changed),
            cost_before=str(before),
            cost_after=str(after),
        )
    return len(changed)
