"""Data fixes from the admin: titles, message edits, structure, prices."""

from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

from .. import encryption, pricing
from .. import items as sdk_items
from ..models import (
    AgentMessage,
    AgentSession,
    AuditEntry,
    MessageStructure,
    ModelPrice,
)
from .base import ConversationError, audit, lock_existing_conversation
from .history import adopt_unstructured_holding_lock

# --- data fixes (admin) ------------------------------------------------------


def set_title(
    *, session_id: str, title: str | None, actor=None, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Rename a conversation; a blank title clears it."""
    title = (title or "").strip() or None
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using, allow_trash=True)
        conversation = AgentSession.objects.using(using).filter(pk=session_id)
        previous = conversation.values_list("title", flat=True).get()
        if previous == title:
            return
        conversation.update(title=title)
        audit(
            AuditEntry.Action.EDIT,
            session_id,
            actor=actor,
            using=using,
            field="title",
            before=previous,
            after=title,
        )


def check_sdk_item(item: Any) -> str:
    """The item encoded as the SDK stores it, or InvalidItem when it is no SDK item.

    An SDK item is a JSON object naming its "role" (messages) or "type" (all others).
    """
    if not isinstance(item, dict):
        kind = "null" if item is None else type(item).__name__
        raise sdk_items.InvalidItem(f"An SDK item is a JSON object, not {kind}")
    if not any(isinstance(item.get(key), str) and item.get(key) for key in ("role", "type")):
        raise sdk_items.InvalidItem('An SDK item names its "role" or its "type"')
    return sdk_items.encode_item(item)


def item_structure_fields(item: Any) -> dict:
    return {"message_type": sdk_items.message_type(item), "tool_name": sdk_items.tool_name(item)}


# The message_structure columns that follow from a branch's messages.
DERIVED_FIELDS = ("message_type", "tool_name", "user_turn_number", "branch_turn_number")


def _renumber_branch(session_id: str, branch_id: str, *, using: str) -> int:
    """Re-derive kind, tool and turn numbers of a branch's rows; returns rows changed."""
    rows = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id, branch_id=branch_id)
        .select_related("message")
        .order_by("sequence_number")
    )
    changed, turn = [], 0
    for row in rows:
        item = encryption.item_for_structure(session_id, row.message.message_data)
        if sdk_items.is_user_message(item):
            turn += 1
        derived = {
            **item_structure_fields(item),
            "user_turn_number": turn,
            "branch_turn_number": turn,
        }
        if any(getattr(row, name) != value for name, value in derived.items()):
            for name, value in derived.items():
                setattr(row, name, value)
            changed.append(row)
    MessageStructure.objects.using(using).bulk_update(changed, DERIVED_FIELDS, batch_size=500)
    return len(changed)


def edit_message(*, message_id: int, item: Any, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Replace a stored item and re-derive its structure rows (kind, tool name).

    When the edit makes the item a user message, or stops it being one, the
    turns of every branch holding it are numbered again.
    """
    encoded = check_sdk_item(item)
    message = AgentMessage.objects.using(using).filter(pk=message_id)
    session_id = message.values_list("session_id", flat=True).first()
    if session_id is None:
        raise ConversationError(f"Message {message_id} does not exist")
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using)
        before = message.values_list("message_data", flat=True).first()
        if before is None:
            raise ConversationError(f"Message {message_id} does not exist")
        before_item = encryption.open_message(session_id, before)
        if before_item == item:
            return
        stored = encryption.stored_texts(session_id, [item], [encoded])[0]
        message.update(message_data=stored)
        rows = MessageStructure.objects.using(using).filter(message_id=message_id)
        rows.update(**item_structure_fields(item))
        renumbered = []
        if sdk_items.is_user_message(before_item) != sdk_items.is_user_message(item):
            renumbered = sorted(set(rows.values_list("branch_id", flat=True)))
            for branch_id in renumbered:
                _renumber_branch(session_id, branch_id, using=using)
        audit(
            AuditEntry.Action.EDIT,
            session_id,
            actor=actor,
            using=using,
            message_id=message_id,
            before=before,
            after=stored,
            renumbered_branches=renumbered,
        )


def recompute_structure(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> int:
    """Re-derive every message_structure row of a conversation from its messages.

    Messages with no structure row (written by an SDK writer that keeps none)
    first get their place at the end of main. Returns the rows added or changed.
    """
    with transaction.atomic(using=using):
        locked = lock_existing_conversation(session_id, using=using)
        before = locked.last_sequence
        adopt_unstructured_holding_lock(locked, using=using)
        adopted = locked.last_sequence - before
        branch_ids = (
            MessageStructure.objects.using(using)
            .filter(session_id=session_id)
            .order_by()
            .values_list("branch_id", flat=True)
            .distinct()
        )
        changed = sum(
            _renumber_branch(session_id, branch_id, using=using) for branch_id in list(branch_ids)
        )
        audit(
            AuditEntry.Action.RECOMPUTE,
            session_id,
            actor=actor,
            using=using,
            adopted=adopted,
            changed=changed,
        )
    return adopted + changed


def _price_fields(price: ModelPrice | None) -> dict | None:
    if price is None:
        return None
    names = ("input_per_million", "cached_input_per_million", "output_per_million")
    return {
        "model_name": price.model_name,
        "effective_from": str(price.effective_from),
        **{name: str(getattr(price, name)) for name in names},
    }


def save_price(*, price: ModelPrice, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add or change a model price. Costs already recorded keep their value."""
    with transaction.atomic(using=using):
        previous = ModelPrice.objects.using(using).filter(pk=price.pk).first() if price.pk else None
        price.save(using=using)
        saved = ModelPrice.objects.using(using).get(pk=price.pk)  # as stored: 4 decimals
        # Prices belong to no conversation: the audit row's session_id is empty.
        audit(
            AuditEntry.Action.EDIT,
            "",
            actor=actor,
            using=using,
            model_price=price.pk,
            before=_price_fields(previous),
            after=_price_fields(saved),
        )


def delete_price(*, price: ModelPrice, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete a model price. Costs already recorded keep their value."""
    with transaction.atomic(using=using):
        before = _price_fields(price)
        price_id = price.pk
        price.delete(using=using)
        audit(
            AuditEntry.Action.EDIT,
            "",
            actor=actor,
            using=using,
            model_price=price_id,
            before=before,
            after=None,
        )


def seed_default_prices(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Add the rows of pricing.DEFAULT_PRICES that are missing; returns how many were added.

    Migration 0003 adds the same rows, unaudited; this puts them back after a
    flush (tests' transactional teardown, `manage.py flush`).
    """
    existing = set(
        ModelPrice.objects.using(using)
        .filter(model_name__in=pricing.DEFAULT_PRICES, effective_from=pricing.DEFAULT_PRICES_FROM)
        .values_list("model_name", flat=True)
    )
    rows = [
        ModelPrice(
            model_name=name,
            effective_from=pricing.DEFAULT_PRICES_FROM,
            input_per_million=Decimal(inp),
            cached_input_per_million=Decimal(cached),
            output_per_million=Decimal(out),
        )
        for name, (inp, cached, out) in pricing.DEFAULT_PRICES.items()
        if name not in existing
    ]
    ModelPrice.objects.using(using).bulk_create(rows)
    return len(rows)
