"""Recording a run's usage, and the explicit, audited re-pricing of old turns."""

from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Max
from django.utils import timezone

from .. import pricing
from ..models import (
    AuditEntry,
    MessageStructure,
    ModelPrice,
    TurnUsage,
)
from .base import ON_MAIN, ConversationInTrash, Position, _audit, _lock, _lock_existing

# --- usage -------------------------------------------------------------------


def _details(details: Any) -> dict | None:
    if not details:
        return None
    return dict(details.__dict__) if hasattr(details, "__dict__") else dict(details)


def record_usage(
    *,
    session_id: str,
    usage: Any,
    model_name: str | None = None,
    position: Position = ON_MAIN,
    using: str = DEFAULT_DB_ALIAS,
) -> int | None:
    """Store a run's usage as the current turn's usage (replacing it); returns the turn.

    Nothing is stored when the branch holds no turn or the conversation was
    cleared since the position was taken. The cost is fixed now, from the
    price in force today.
    """
    with transaction.atomic(using=using):
        locked = _lock(session_id, using=using, create=False)
        if locked is not None and locked.deleted_at is not None:
            raise ConversationInTrash(
                f"Conversation '{session_id}' is in the trash; restore it first"
            )
        if locked is None or locked.generation != position.generation:
            return None
        branch_id = position.branch_id
        rows = MessageStructure.objects.using(using).filter(
            session_id=session_id, branch_id=branch_id
        )
        turn = rows.aggregate(turn=Max("user_turn_number"))["turn"]
        if turn is None:
            return None
        input_details = _details(getattr(usage, "input_tokens_details", None))
        output_details = _details(getattr(usage, "output_tokens_details", None))
        input_tokens = usage.input_tokens or 0
        cost = pricing.cost_of(
            pricing.price_in_force(model_name, timezone.now().date()),
            input_tokens=input_tokens,
            cached_tokens=(input_details or {}).get("cached_tokens") or 0,
            output_tokens=usage.output_tokens or 0,
        )
        TurnUsage.objects.using(using).update_or_create(
            session_id=session_id,
            branch_id=branch_id,
            user_turn_number=turn,
            defaults={
                "requests": usage.requests or 0,
                "input_tokens": input_tokens,
                "output_tokens": usage.output_tokens or 0,
                "total_tokens": usage.total_tokens or 0,
                "input_tokens_details": input_details,
                "output_tokens_details": output_details,
                "model_name": model_name,
                "cost": cost,
                "created_at": timezone.now(),
            },
        )
    return turn


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
        _lock_existing(session_id, using=using)
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
        _audit(
            AuditEntry.Action.REPRICE,
            session_id,
            actor=actor,
            using=using,
            rows=len(changed),
            cost_before=str(before),
            cost_after=str(after),
        )
    return len(changed)
