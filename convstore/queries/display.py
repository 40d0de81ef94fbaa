"""The dashboard's reads of one conversation: transcript, usage and branches as shown."""

import datetime
import hashlib
import json
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    Exists,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone

from .. import encryption
from .. import items as sdk_items
from ..models import MAIN_BRANCH, AgentSession, Branch, MessageStructure, TurnUsage
from .sessions import USAGE_FIELDS, branch_structure_rows, sdk_timestamp


def _count(value: Any) -> int:
    """A token count from a usage details dict, where anything odd counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_view(row: dict) -> dict:
    """A turn_usage row with the cached and reasoning tokens taken out of its details.

    Cached tokens are part of input_tokens and reasoning tokens part of
    output_tokens, so the four parts (uncached input, cached, plain output,
    reasoning) add up to the tokens billed.
    """
    input_details = row.get("input_tokens_details")
    output_details = row.get("output_tokens_details")
    input_tokens = row.get("input_tokens") or 0
    output_tokens = row.get("output_tokens") or 0
    cached = _count(input_details.get("cached_tokens")) if isinstance(input_details, dict) else 0
    reasoning = (
        _count(output_details.get("reasoning_tokens")) if isinstance(output_details, dict) else 0
    )
    cached, reasoning = min(cached, input_tokens), min(reasoning, output_tokens)
    return {
        "turn": row.get("user_turn_number"),
        "branch_id": row.get("branch_id"),
        "requests": row.get("requests") or 0,
        "input_tokens": input_tokens,
        "cached_tokens": cached,
        "uncached_input_tokens": input_tokens - cached,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning,
        "plain_output_tokens": output_tokens - reasoning,
        "total_tokens": row.get("total_tokens") or 0,
        "model_name": row.get("model_name"),
        "cost": row.get("cost"),
        "agent_name": row.get("agent_name"),
        "agents": row.get("agents") if isinstance(row.get("agents"), list) else [],
    }


USAGE_VIEW_FIELDS = (
    "branch_id",
    "user_turn_number",
    *USAGE_FIELDS,
    "model_name",
    "cost",
    "agent_name",
    "agents",
)


def branch_usage(
    session_id: str, branch_ids: list[str] | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """Every turn's usage of the branches (of all, without branch_ids) as usage_view gives it."""
    rows = TurnUsage.objects.using(using).filter(session_id=session_id)
    if branch_ids is not None:
        rows = rows.filter(branch_id__in=branch_ids)
    ordered = rows.order_by("branch_id", "user_turn_number").values(*USAGE_VIEW_FIELDS)
    return [usage_view(row) for row in ordered]


def _pretty_json(text: Any) -> str:
    """Tool arguments and outputs are often JSON text: indent them when they are."""
    if not isinstance(text, str):
        return json.dumps(text, indent=2, ensure_ascii=False)
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text
    if not isinstance(value, dict | list):
        return text
    return json.dumps(value, indent=2, ensure_ascii=False)


# What a page shows for an item encrypted with a key this server does not have.
UNREADABLE = object()
UNREADABLE_TEXT = "(encrypted with a key this server does not have)"


def shown_item(session_id: str, message_data: str | None) -> Any:
    """The item a row holds, for a page: None if missing, UNREADABLE if no key opens it."""
    if message_data is None:
        return None
    try:
        return encryption.open_message(session_id, message_data)
    except encryption.UnreadableItem:
        return UNREADABLE


def item_view(item: Any, message_type: str, tool_name: str | None) -> dict:
    """How the transcript shows an item: its kind and the text to show for it.

    kind is one of user, assistant, tool_call, tool_output, reasoning, other,
    unreadable.
    """
    view = {"type": message_type, "tool_name": tool_name, "text": "", "detail": ""}
    if item is UNREADABLE:
        return {**view, "kind": "unreadable", "text": UNREADABLE_TEXT}
    if not isinstance(item, dict):
        return {**view, "kind": "other", "text": "(this item could not be read)"}
    if message_type in ("user", "assistant"):
        text = sdk_items.item_text(item)
        if not text and item.get("content"):
            text = _pretty_json(item.get("content"))
        return {**view, "kind": message_type, "text": text}
    if message_type == "reasoning":
        return {**view, "kind": "reasoning", "text": sdk_items.item_text(item)}
    if message_type in sdk_items.TOOL_CALL_TYPES:
        arguments = item.get("arguments", item.get("input", item.get("action")))
        detail = _pretty_json(arguments) if arguments is not None else _pretty_json(item)
        return {**view, "kind": "tool_call", "detail": detail}
    if message_type in sdk_items.TOOL_OUTPUT_TYPES or message_type.endswith("_output"):
        output = item.get("output", item)
        return {**view, "kind": "tool_output", "detail": _pretty_json(output)}
    return {**view, "kind": "other", "detail": _pretty_json(item)}


EXPIRED_TEXT = "(expired: older than the conversation's TTL)"


def expired_view(message_type: str, tool_name: str | None) -> dict:
    """An item older than its conversation's TTL: shown as expired, without its content."""
    return {
        "type": message_type,
        "tool_name": tool_name,
        "kind": "expired",
        "text": EXPIRED_TEXT,
        "detail": "",
    }


def branch_turn_count(session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS) -> int:
    turns = branch_structure_rows(session_id, branch_id, using).aggregate(n=Max("user_turn_number"))
    return turns["n"] or 0


def branch_transcript(
    session_id: str,
    branch_id: str,
    *,
    first_turn: int | None = None,
    last_turn: int | None = None,
    usage: list[dict] | None = None,
    ttl: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict]:
    """The branch's items grouped by user turn, each turn with its usage.

    A turn is {"number", "fork_turn", "items": [item_view...], "usage": usage_view
    or None}; items before the first user message form turn 0. fork_turn is
    the turn number conversations.fork takes to branch from this turn.
    usage: the branch's usage_view rows, when the caller has read them already.
    ttl: the conversation's TTL in seconds; older items show as expired.
    """
    expired_before = timezone.now() - datetime.timedelta(seconds=ttl) if ttl else None
    rows = branch_structure_rows(session_id, branch_id, using)
    usage_rows = TurnUsage.objects.using(using).filter(session_id=session_id, branch_id=branch_id)
    if first_turn is not None:
        rows = rows.filter(user_turn_number__gte=first_turn)
        usage_rows = usage_rows.filter(user_turn_number__gte=first_turn)
    if last_turn is not None:
        rows = rows.filter(user_turn_number__lte=last_turn)
        usage_rows = usage_rows.filter(user_turn_number__lte=last_turn)
    if usage is None:
        usage = [usage_view(row) for row in usage_rows.values(*USAGE_VIEW_FIELDS)]
    usage_by_turn = {row["turn"]: row for row in usage}
    turns: dict[int, dict] = {}
    for number, kind, tool, branch_turn, data, created_at in rows.order_by(
        "sequence_number"
    ).values_list(
        "user_turn_number",
        "message_type",
        "tool_name",
        "branch_turn_number",
        "message__message_data",
        "message__created_at",
    ):
        number = number or 0
        turn = turns.setdefault(
            number,
            {"number": number, "fork_turn": None, "items": [], "usage": usage_by_turn.get(number)},
        )
        if kind == "user" and turn["fork_turn"] is None:
            turn["fork_turn"] = branch_turn
        if expired_before is not None and created_at is not None and created_at < expired_before:
            turn["items"].append(expired_view(kind, tool))
        else:
            turn["items"].append(item_view(shown_item(session_id, data), kind, tool))
    return list(turns.values())


def branch_summaries(
    session_id: str, *, usage: list[dict] | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """Every live branch with where it came from, its size and its usage, oldest first.

    A branch an SDK writer made has no convstore_branch row: its parent is unknown.
    usage: the conversation's branch_usage rows, when the caller has read them already.
    """
    held = {
        row["branch_id"]: row
        for row in MessageStructure.objects.using(using)
        .filter(session_id=session_id)
        .values("branch_id")
        .annotate(
            messages=Count("id"),
            turns=Count("id", filter=Q(message_type="user")),
            first_at=Min("created_at"),
        )
        .order_by()
    }
    records = {
        row["branch_id"]: row
        for row in Branch.objects.using(using)
        .filter(session_id=session_id, deleted_at=None)
        .values(
            "branch_id",
            "parent_branch_id",
            "forked_from_turn",
            "created_at",
            "created_by__username",
        )
    }
    by_branch: dict[str, list[dict]] = {}
    for row in branch_usage(session_id, using=using) if usage is None else usage:
        by_branch.setdefault(row["branch_id"], []).append(row)
    names = set(held) | set(records) | {MAIN_BRANCH}
    summaries = []
    for name in names:
        record = records.get(name, {})
        counts = held.get(name, {})
        summaries.append(
            {
                "branch_id": name,
                "parent_branch_id": record.get("parent_branch_id"),
                "forked_from_turn": record.get("forked_from_turn"),
                "created_by": record.get("created_by__username"),
                "created_at": record.get("created_at") or counts.get("first_at"),
                "messages": counts.get("messages", 0),
                "turns": counts.get("turns", 0),
                "usage": usage_totals(by_branch.get(name, [])),
            }
        )
    oldest = timezone.now()
    summaries.sort(
        key=lambda b: (b["branch_id"] != MAIN_BRANCH, b["created_at"] or oldest, b["branch_id"])
    )
    return summaries


# The counts a usage_view row shows and every total sums (cached tokens are part
# of input_tokens, reasoning tokens part of output_tokens).
USAGE_COUNTS = (
    "requests",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
)


def usage_totals(rows: list[dict]) -> dict:
    """usage_view rows summed; cost only over the priced turns, None when none is priced."""
    totals = {key: sum(row[key] for row in rows) for key in USAGE_COUNTS}
    priced = [row["cost"] for row in rows if row["cost"] is not None]
    unknown_model = sum(1 for row in rows if not row["model_name"])
    totals.update(
        turns=len(rows),
        cost=sum(priced) if priced else None,
        unpriced_turns=len(rows) - len(priced),
        unknown_model_turns=unknown_model,
        # A turn without a model has no cost either; the rest lack a price for their model.
        no_price_turns=max(len(rows) - len(priced) - unknown_model, 0),
    )
    totals["cost_complete"] = bool(rows) and not totals["unpriced_turns"]
    return totals


def branch_comparison(
    session_id: str, branch_a: str, branch_b: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """Two branches turn by turn: each turn's user text and usage on either side.

    A turn is "shared" when both branches hold the same user message (turns
    copied by the fork).
    """
    branch_ids = [branch_a, branch_b]
    users = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id, branch_id__in=branch_ids, message_type="user")
        .values_list("branch_id", "user_turn_number", "message_id", "message__message_data")
    )
    usage = {
        (row["branch_id"], row["turn"]): row
        for row in branch_usage(session_id, branch_ids, using=using)
    }
    sides: dict[int, dict] = {}
    for branch_id, number, message_id, data in users:
        item = shown_item(session_id, data)
        text = UNREADABLE_TEXT if item is UNREADABLE else sdk_items.item_text(item)
        side = {"message_id": message_id, "text": text}
        sides.setdefault(number or 0, {})[branch_id] = side
    numbers = sorted(set(sides) | {turn for _, turn in usage})
    comparison = []
    for number in numbers:
        row = {"turn": number}
        for key, branch_id in (("a", branch_a), ("b", branch_b)):
            side = sides.get(number, {}).get(branch_id)
            row[key] = {
                **(side or {}),
                "usage": usage.get((branch_id, number)),
                "present": side is not None,
            }
        a_id, b_id = row["a"].get("message_id"), row["b"].get("message_id")
        row["shared"] = a_id is not None and a_id == b_id
        comparison.append(row)
    return comparison


def conversation_version(session_id: str, *, using: str = DEFAULT_DB_ALIAS) -> str | None:
    """A short token that changes whenever the conversation's items, usage or branches change.

    The dashboard polls it: each part is an index lookup, so it stays cheap
    while an agent writes.
    """
    structure = MessageStructure.objects.using(using).filter(session_id=OuterRef("pk")).order_by()
    usage = TurnUsage.objects.using(using).filter(session_id=OuterRef("pk")).order_by()
    branch_rows = Branch.objects.using(using).filter(session_id=OuterRef("pk")).order_by()

    def aggregate(queryset, expression) -> Subquery:
        return Subquery(queryset.values("session_id").annotate(v=expression).values("v")[:1])

    row = (
        AgentSession.objects.using(using)
        .filter(pk=session_id)
        .annotate(
            last_sequence=aggregate(structure, Max("sequence_number")),
            structure_rows=aggregate(structure, Count("id")),
            usage_rows=aggregate(usage, Count("id")),
            usage_at=aggregate(usage, Max("created_at")),
            branch_rows=aggregate(branch_rows, Count("id")),
            deleted_branches=aggregate(branch_rows, Count("deleted_at")),
        )
        .values_list(
            "updated_at",
            "deleted_at",
            "active_branch_id",
            "clear_generation",
            "title",
            "last_sequence",
            "structure_rows",
            "usage_rows",
            "usage_at",
            "branch_rows",
            "deleted_branches",
        )
        .first()
    )
    if row is None:
        return None
    return hashlib.sha1(repr(row).encode(), usedforsecurity=False).hexdigest()[:16]


def branch_export(session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """A branch's items (as the SDK stores them) with their place, and its usage per turn."""
    rows = (
        branch_structure_rows(session_id, branch_id, using)
        .order_by("sequence_number")
        .values_list(
            "sequence_number",
            "user_turn_number",
            "message_type",
            "tool_name",
            "created_at",
            "message__message_data",
        )
    )
    items = [
        {
            "sequence_number": sequence,
            "user_turn_number": turn,
            "message_type": kind,
            "tool_name": tool,
            "created_at": sdk_timestamp(created_at),
            "item": _exported_item(session_id, data),
        }
        for sequence, turn, kind, tool, created_at, data in rows
    ]
    return {"items": items, "usage": branch_usage(session_id, [branch_id], using=using)}


def _exported_item(session_id: str, message_data: str | None) -> Any:
    item = shown_item(session_id, message_data)
    return {"unreadable": UNREADABLE_TEXT} if item is UNREADABLE else item


def branch_exists(session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """main always; another branch while it holds items or is live (made but still empty)."""
    if branch_id == MAIN_BRANCH:
        return AgentSession.objects.using(using).filter(pk=session_id).exists()
    holding = branch_structure_rows(session_id, branch_id, using)
    live = Branch.objects.using(using).filter(
        session_id=session_id, branch_id=branch_id, deleted_at=None
    )
    return (
        AgentSession.objects.using(using)
        .filter(pk=session_id)
        .filter(Exists(holding) | Exists(live))
        .exists()
    )
