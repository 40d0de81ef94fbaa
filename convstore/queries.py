"""Every read of one conversation, returning what AdvancedSQLiteSession returns.

Timestamps are given as the SDK gives them: 'YYYY-MM-DD HH:MM:SS' in UTC.
"""

import hashlib
import json
import re
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    Count,
    Exists,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.utils import timezone

from . import items as sdk_items
from .models import MAIN_BRANCH, AgentSession, Branch, MessageStructure, TurnUsage


def sdk_timestamp(value) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


# Written out once: building this statement with the ORM (nested Subquery and
# Exists) on every call took ten times longer than running it, and every write
# runs it. Table names are the SDK's, fixed by design.
#
# The row; the conversation's last sequence number; whether its newest message
# has no structure row (messages written by an SDK writer that fills no
# message_structure, SQLAlchemySession, are appended at the end, so checking the
# newest message finds them without scanning); and a branch's current turn
# numbers, which are its newest row's since every writer (ours and the SDK's)
# numbers turns upwards along a branch's sequence: their MAX, found with one
# index seek instead of a scan of the branch.
_STATE_SQL = """
    SELECT s.active_branch_id, s.clear_generation, s.deleted_at,
        (SELECT MAX(ms.sequence_number) FROM message_structure ms
            WHERE ms.session_id = s.session_id),
        EXISTS(SELECT 1 FROM agent_messages m
            WHERE m.id = (SELECT MAX(n.id) FROM agent_messages n WHERE n.session_id = s.session_id)
            AND NOT EXISTS(SELECT 1 FROM message_structure u WHERE u.message_id = m.id)),
        (SELECT t.user_turn_number FROM message_structure t
            WHERE t.session_id = s.session_id AND t.branch_id = %s
            ORDER BY t.sequence_number DESC LIMIT 1),
        (SELECT t.branch_turn_number FROM message_structure t
            WHERE t.session_id = s.session_id AND t.branch_id = %s
            ORDER BY t.sequence_number DESC LIMIT 1)
    FROM agent_sessions s WHERE s.session_id = %s
"""


def conversation_state(
    session_id: str, turns_of: str = MAIN_BRANCH, *, using: str = DEFAULT_DB_ALIAS
) -> dict | None:
    """The conversation row's state, last sequence number and a branch's turns; None if none."""
    with connections[using].cursor() as cursor:
        cursor.execute(_STATE_SQL, [turns_of, turns_of, session_id])
        row = cursor.fetchone()
    if row is None:
        return None
    active_branch_id, generation, deleted_at, last_sequence, unstructured, turn, branch_turn = row
    return {
        "active_branch_id": active_branch_id or MAIN_BRANCH,
        "generation": generation or 0,
        "deleted_at": deleted_at,
        "last_sequence": last_sequence or 0,
        "needs_adoption": bool(unstructured),
        "turns": (turn or 0, branch_turn or 0),
    }


def session_state(session_id: str, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """Where a new session object starts: active branch, clear generation, trash."""
    state = conversation_state(session_id, using=using)
    if state is None:
        return {
            "active_branch_id": MAIN_BRANCH,
            "generation": 0,
            "in_trash": False,
            "needs_adoption": False,
        }
    return {
        "active_branch_id": state["active_branch_id"],
        "generation": state["generation"],
        "in_trash": state["deleted_at"] is not None,
        "needs_adoption": state["needs_adoption"],
    }


# get_items runs on every agent turn: its statements are written out once too.
_GENERATION_SQL = "SELECT clear_generation, deleted_at FROM agent_sessions WHERE session_id = %s"

_BRANCH_DATA_SQL = """
    SELECT m.message_data FROM message_structure ms
    JOIN agent_messages m ON m.id = ms.message_id
    WHERE ms.session_id = %s AND ms.branch_id = %s
"""
_OLDEST_FIRST_SQL = _BRANCH_DATA_SQL + " ORDER BY ms.sequence_number"
_NEWEST_FIRST_SQL = _BRANCH_DATA_SQL + " ORDER BY ms.sequence_number DESC LIMIT %s"


def _fetch(sql: str, params: list, *, using: str) -> list[tuple]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def generation_and_trash(session_id: str, *, using: str = DEFAULT_DB_ALIAS) -> tuple[int, bool]:
    """The conversation's clear generation, and whether it is in the trash."""
    rows = _fetch(_GENERATION_SQL, [session_id], using=using)
    if not rows:
        return 0, False
    generation, deleted_at = rows[0]
    return generation or 0, deleted_at is not None


def _branch_rows(session_id: str, branch_id: str, using: str):
    return MessageStructure.objects.using(using).filter(session_id=session_id, branch_id=branch_id)


def _decoded(rows) -> list[dict]:
    decoded = (sdk_items.decode_item(data) for data in rows)
    return [item for item in decoded if item is not None]


def branch_items(
    session_id: str, branch_id: str, limit: int | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """The branch's items in order; with a positive limit, the newest `limit` of them.

    As in the SDK, rows that do not decode are skipped (and do not count
    against the limit), a limit of 0 gives nothing and a negative one all.
    """
    if limit is None or limit < 0:
        rows = _fetch(_OLDEST_FIRST_SQL, [session_id, branch_id], using=using)
        return _decoded(data for (data,) in rows)
    if limit == 0:
        return []
    window = limit
    while True:
        newest_first = [session_id, branch_id, window]
        fetched = [data for (data,) in _fetch(_NEWEST_FIRST_SQL, newest_first, using=using)]
        found = _decoded(reversed(fetched))
        if len(found) >= limit:
            return found[-limit:]
        if len(fetched) < window:
            return found
        window *= 2


def _turn_dict(turn: int, data: str, created_at, preview_length: int | None) -> dict | None:
    item = sdk_items.decode_item(data)
    if not isinstance(item, dict):
        return None
    content = item.get("content", "")
    return {
        "turn": turn,
        "content": sdk_items.content_preview(content, preview_length),
        "full_content": content,
        "timestamp": sdk_timestamp(created_at),
        "can_branch": True,
    }


def _user_turn_rows(session_id: str, branch_id: str, using: str):
    return (
        _branch_rows(session_id, branch_id, using)
        .filter(message_type="user")
        .order_by("branch_turn_number")
        .values_list("branch_turn_number", "message__message_data", "created_at")
    )


def conversation_turns(
    session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    turns = (_turn_dict(*row, 100) for row in _user_turn_rows(session_id, branch_id, using))
    return [turn for turn in turns if turn is not None]


def find_turns(
    session_id: str, branch_id: str, search_term: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """User turns whose text contains the term (ASCII case-insensitive, as SQLite's LIKE)."""
    encoded_term = json.dumps(search_term)[1:-1]
    pattern = re.compile(re.escape(search_term), re.IGNORECASE | re.ASCII)
    rows = _user_turn_rows(session_id, branch_id, using).filter(
        message__message_data__icontains=encoded_term
    )
    matches = []
    for turn_number, data, created_at in rows:
        turn = _turn_dict(turn_number, data, created_at, None)
        if turn is None:
            continue
        content = turn["full_content"]
        texts = [content] if isinstance(content, str) else _part_texts(content)
        if any(pattern.search(text) for text in texts):
            matches.append(turn)
    return matches


def _part_texts(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [part.get("text", "") for part in content if isinstance(part, dict)]


def conversation_by_turns(
    session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS
) -> dict[int, list[dict]]:
    turns: dict[int, list[dict]] = {}
    rows = (
        _branch_rows(session_id, branch_id, using)
        .order_by("sequence_number")
        .values_list("user_turn_number", "message_type", "tool_name")
    )
    for turn, kind, tool in rows:
        turns.setdefault(turn, []).append({"type": kind, "tool_name": tool})
    return turns


def tool_usage(
    session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[tuple[str, int, int]]:
    """(tool name, calls, turn) per tool and turn, as the SDK's get_tool_usage.

    A tool_search_output counts as a call only when its turn holds no
    tool_search_call of the same tool.
    """
    rows = _branch_rows(session_id, branch_id, using)
    calls = list(
        rows.filter(message_type__in=sdk_items.TOOL_CALL_TYPES).values_list(
            "tool_name", "message_type", "user_turn_number"
        )
    )
    outputs = list(
        rows.filter(message_type="tool_search_output").values_list("tool_name", "user_turn_number")
    )
    searched = {(name, turn) for name, kind, turn in calls if kind == "tool_search_call"}
    counts: dict[tuple[str | None, int], int] = {}
    for name, kind, turn in calls:
        if name is None and kind in ("shell_call", "apply_patch_call"):
            name = kind
        counts[(name, turn)] = counts.get((name, turn), 0) + 1
    for name, turn in outputs:
        if (name, turn) not in searched:
            counts[(name, turn)] = counts.get((name, turn), 0) + 1
    return [
        (name, count, turn)
        for (name, turn), count in sorted(
            counts.items(), key=lambda entry: (entry[0][1] or 0, entry[0][0] or "")
        )
    ]


def session_usage(
    session_id: str, branch_id: str | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> dict[str, int] | None:
    """Usage summed over a branch, or over every branch when branch_id is empty."""
    rows = TurnUsage.objects.using(using).filter(session_id=session_id)
    if branch_id:
        rows = rows.filter(branch_id=branch_id)
    totals = rows.aggregate(
        requests=Sum("requests"),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        total_tokens=Sum("total_tokens"),
        total_turns=Count("id"),
    )
    if totals["requests"] is None:
        return None
    return {key: value or 0 for key, value in totals.items()}


USAGE_FIELDS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_tokens_details",
    "output_tokens_details",
)


def turn_usage(
    session_id: str,
    branch_id: str,
    user_turn_number: int | None = None,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict] | dict:
    rows = TurnUsage.objects.using(using).filter(session_id=session_id, branch_id=branch_id)
    if user_turn_number is not None:
        return rows.filter(user_turn_number=user_turn_number).values(*USAGE_FIELDS).first() or {}
    return list(rows.order_by("user_turn_number").values("user_turn_number", *USAGE_FIELDS))


def branches(
    session_id: str, current_branch_id: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """Every branch holding items, and every live branch that holds none yet."""
    held = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id)
        .values("branch_id")
        .annotate(
            message_count=Count("id"),
            user_turns=Count("id", filter=Q(message_type="user")),
            created_at=Min("created_at"),
        )
        .order_by("created_at")
    )
    listed = [
        {
            "branch_id": row["branch_id"],
            "message_count": row["message_count"],
            "user_turns": row["user_turns"],
            "is_current": row["branch_id"] == current_branch_id,
            "created_at": row["created_at"],
        }
        for row in held
    ]
    names = {row["branch_id"] for row in listed}
    empty = (
        Branch.objects.using(using)
        .filter(session_id=session_id, deleted_at=None)
        .exclude(branch_id__in=names)
        .values_list("branch_id", "created_at")
    )
    listed += [
        {
            "branch_id": name,
            "message_count": 0,
            "user_turns": 0,
            "is_current": name == current_branch_id,
            "created_at": created_at,
        }
        for name, created_at in empty
    ]
    listed.sort(key=lambda branch: branch["created_at"])
    for branch in listed:
        branch["created_at"] = sdk_timestamp(branch["created_at"])
    return listed


# --- the dashboard's reads of one conversation -------------------------------


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
    }


USAGE_VIEW_FIELDS = ("branch_id", "user_turn_number", *USAGE_FIELDS, "model_name", "cost")


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


def item_view(item: Any, message_type: str, tool_name: str | None) -> dict:
    """How the transcript shows an item: its kind and the text to show for it.

    kind is one of user, assistant, tool_call, tool_output, reasoning, other.
    """
    view = {"type": message_type, "tool_name": tool_name, "text": "", "detail": ""}
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


def branch_turn_count(session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS) -> int:
    turns = _branch_rows(session_id, branch_id, using).aggregate(n=Max("user_turn_number"))
    return turns["n"] or 0


def branch_transcript(
    session_id: str,
    branch_id: str,
    *,
    first_turn: int | None = None,
    last_turn: int | None = None,
    usage: list[dict] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict]:
    """The branch's items grouped by user turn, each turn with its usage.

    A turn is {"number", "fork_turn", "items": [item_view...], "usage": usage_view
    or None}; items before the first user message form turn 0. fork_turn is
    the turn number conversations.fork takes to branch from this turn.
    usage: the branch's usage_view rows, when the caller has read them already.
    """
    rows = _branch_rows(session_id, branch_id, using)
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
    for number, kind, tool, branch_turn, data in rows.order_by("sequence_number").values_list(
        "user_turn_number",
        "message_type",
        "tool_name",
        "branch_turn_number",
        "message__message_data",
    ):
        number = number or 0
        turn = turns.setdefault(
            number,
            {"number": number, "fork_turn": None, "items": [], "usage": usage_by_turn.get(number)},
        )
        if kind == "user" and turn["fork_turn"] is None:
            turn["fork_turn"] = branch_turn
        item = sdk_items.decode_item(data) if data is not None else None
        turn["items"].append(item_view(item, kind, tool))
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


def usage_totals(rows: list[dict]) -> dict:
    """usage_view rows summed; cost only over the priced turns, None when none is priced."""
    keys = (
        "requests",
        "input_tokens",
        "cached_tokens",
        "output_tokens",
        "reasoning_tokens",
        "total_tokens",
    )
    totals = {key: sum(row[key] for row in rows) for key in keys}
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
        item = sdk_items.decode_item(data) if data is not None else None
        side = {"message_id": message_id, "text": sdk_items.item_text(item)}
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
        _branch_rows(session_id, branch_id, using)
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
            "item": sdk_items.decode_item(data) if data is not None else None,
        }
        for sequence, turn, kind, tool, created_at, data in rows
    ]
    return {"items": items, "usage": branch_usage(session_id, [branch_id], using=using)}


def branch_exists(session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """main always; another branch while it holds items or is live (made but still empty)."""
    if branch_id == MAIN_BRANCH:
        return AgentSession.objects.using(using).filter(pk=session_id).exists()
    holding = _branch_rows(session_id, branch_id, using)
    live = Branch.objects.using(using).filter(
        session_id=session_id, branch_id=branch_id, deleted_at=None
    )
    return (
        AgentSession.objects.using(using)
        .filter(pk=session_id)
        .filter(Exists(holding) | Exists(live))
        .exists()
    )
