"""Reads of one conversation in the shapes AdvancedSQLiteSession returns.

Timestamps are given as the SDK gives them: 'YYYY-MM-DD HH:MM:SS' in UTC.
"""

import datetime
import json
import re
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    Min,
    Q,
    Sum,
)

from .. import encryption
from .. import items as sdk_items
from ..models import MAIN_BRANCH, AgentSession, Branch, MessageStructure, TurnUsage
from ..sql import fetch


def sdk_timestamp(value) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


# Written out once: building this statement with the ORM (nested Subquery and
# Exists) on every call took far longer than running it, and every write
# runs it. Table names are the SDK's, fixed by design.
#
# The row; the conversation's last sequence number; whether its newest message
# has no structure row (messages written by an SDK writer that fills no
# message_structure, SQLAlchemySession, are appended at the end, so checking the
# newest message finds them without scanning); and a branch's current turn
# numbers, which are its newest row's since every writer (ours and the SDK's)
# numbers turns upwards along a branch's sequence: their MAX, found with one
# index seek instead of a scan of the branch. The branch id is its two
# parameters. The table is not aliased, so an append can also use these columns
# as an upsert's RETURNING list (convstore.conversations.base). Each column is
# named as a field of StateRow.
STATE_COLUMNS = """
    agent_sessions.active_branch_id AS active_branch_id,
    agent_sessions.clear_generation AS clear_generation,
    agent_sessions.deleted_at AS deleted_at,
    (SELECT MAX(ms.sequence_number) FROM message_structure ms
        WHERE ms.session_id = agent_sessions.session_id) AS last_sequence,
    EXISTS(SELECT 1 FROM agent_messages m
        WHERE m.id = (SELECT MAX(n.id) FROM agent_messages n
            WHERE n.session_id = agent_sessions.session_id)
        AND NOT EXISTS(SELECT 1 FROM message_structure u WHERE u.message_id = m.id))
        AS newest_unstructured,
    (SELECT t.user_turn_number FROM message_structure t
        WHERE t.session_id = agent_sessions.session_id AND t.branch_id = %s
        ORDER BY t.sequence_number DESC LIMIT 1) AS user_turn,
    (SELECT t.branch_turn_number FROM message_structure t
        WHERE t.session_id = agent_sessions.session_id AND t.branch_id = %s
        ORDER BY t.sequence_number DESC LIMIT 1) AS branch_turn
"""

STATE_SQL = f"SELECT {STATE_COLUMNS} FROM agent_sessions WHERE agent_sessions.session_id = %s"


class StateRow(NamedTuple):
    """A row of STATE_COLUMNS as the database gives it: the subqueries give NULL on no rows."""

    active_branch_id: str | None
    clear_generation: int | None
    deleted_at: datetime.datetime | None
    last_sequence: int | None
    newest_unstructured: bool | int
    user_turn: int | None
    branch_turn: int | None


def state_params(session_id: str, turns_of: str) -> list:
    return [turns_of, turns_of, session_id]


def state_from_row(row: tuple | None) -> dict | None:
    """The conversation's state from a row of STATE_COLUMNS; None for no row."""
    if row is None:
        return None
    state = StateRow(*row)
    return {
        "active_branch_id": state.active_branch_id or MAIN_BRANCH,
        "generation": state.clear_generation or 0,
        "deleted_at": state.deleted_at,
        "last_sequence": state.last_sequence or 0,
        "needs_adoption": bool(state.newest_unstructured),
        "turns": (state.user_turn or 0, state.branch_turn or 0),
    }


def conversation_state(
    session_id: str, turns_of: str = MAIN_BRANCH, *, using: str = DEFAULT_DB_ALIAS
) -> dict | None:
    """The conversation row's state, last sequence number and a branch's turns; None if none."""
    rows = fetch(STATE_SQL, state_params(session_id, turns_of), using=using)
    return state_from_row(rows[0] if rows else None)


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


def generation_and_trash(session_id: str, *, using: str = DEFAULT_DB_ALIAS) -> tuple[int, bool]:
    """The conversation's clear generation, and whether it is in the trash."""
    rows = fetch(_GENERATION_SQL, [session_id], using=using)
    if not rows:
        return 0, False
    generation, deleted_at = rows[0]
    return generation or 0, deleted_at is not None


def branch_structure_rows(session_id: str, branch_id: str, using: str):
    return MessageStructure.objects.using(using).filter(session_id=session_id, branch_id=branch_id)


def _decoded(session_id: str, rows, ttl: int | None) -> list[dict]:
    decoded = (encryption.open_message(session_id, data, ttl=ttl) for data in rows)
    return [item for item in decoded if item is not None]


def branch_items(
    session_id: str,
    branch_id: str,
    limit: int | None = None,
    *,
    ttl: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict]:
    """The branch's items in order; with a positive limit, the newest `limit` of them.

    As in the SDK, rows that do not decode are skipped (and do not count
    against the limit), a limit of 0 gives nothing and a negative one all.
    With ttl, encrypted items older than ttl seconds are skipped too, as the
    SDK's EncryptedSession(ttl=...) skips them; encryption.UnreadableItem for
    one no configured key opens.
    """
    if limit is None or limit < 0:
        rows = fetch(_OLDEST_FIRST_SQL, [session_id, branch_id], using=using)
        return _decoded(session_id, (data for (data,) in rows), ttl)
    if limit == 0:
        return []
    window = limit
    while True:
        newest_first = [session_id, branch_id, window]
        fetched = [data for (data,) in fetch(_NEWEST_FIRST_SQL, newest_first, using=using)]
        found = _decoded(session_id, reversed(fetched), ttl)
        if len(found) >= limit:
            return found[-limit:]
        if len(fetched) < window:
            return found
        window *= 2


def _turn_dict(
    session_id: str, turn: int, data: str, created_at, preview_length: int | None
) -> dict | None:
    item = encryption.open_message(session_id, data)
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
        branch_structure_rows(session_id, branch_id, using)
        .filter(message_type="user")
        .order_by("branch_turn_number")
        .values_list("branch_turn_number", "message__message_data", "created_at")
    )


def conversation_turns(
    session_id: str, branch_id: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    rows = _user_turn_rows(session_id, branch_id, using)
    turns = (_turn_dict(session_id, *row, 100) for row in rows)
    return [turn for turn in turns if turn is not None]


def find_turns(
    session_id: str, branch_id: str, search_term: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """User turns whose text contains the term (ASCII case-insensitive, as SQLite's LIKE)."""
    encoded_term = json.dumps(search_term)[1:-1]
    pattern = re.compile(re.escape(search_term), re.IGNORECASE | re.ASCII)
    rows = _user_turn_rows(session_id, branch_id, using)
    if not encryption.enabled():
        # Encrypted items are searched once opened, below.
        rows = rows.filter(message__message_data__icontains=encoded_term)
    matches = []
    for turn_number, data, created_at in rows:
        turn = _turn_dict(session_id, turn_number, data, created_at, None)
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
        branch_structure_rows(session_id, branch_id, using)
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
    rows = branch_structure_rows(session_id, branch_id, using)
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


def conversation_metadata(session_id: str, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """The conversation's metadata; {} when it has none or does not exist."""
    rows = AgentSession.objects.using(using).filter(pk=session_id)
    metadata = rows.values_list("metadata", flat=True).first()
    return metadata if isinstance(metadata, dict) else {}


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


# A usage row's figures, what a run's Usage gives: the SDK's turn_usage columns
# but the row's identity (id, conversation, branch, turn) and created_at.
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
