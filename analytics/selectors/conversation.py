"""One conversation: its branches, turns, chart and tools, and two branches side by side."""

import json
import math
from typing import Any

from convstore import queries
from convstore.models import (
    MAIN_BRANCH,
    AgentSession,
)

from .common import (
    TURNS_PER_PAGE,
)

# --- one conversation ---------------------------------------------------------------


def _branch_tree(summaries: list[dict]) -> list[dict]:
    """The branches depth first from main, each with its depth; orphans (parent unknown) last."""
    names = {branch["branch_id"] for branch in summaries}
    children: dict[str | None, list[dict]] = {}
    for branch in summaries:
        if branch["branch_id"] == MAIN_BRANCH:
            continue
        parent = branch["parent_branch_id"]
        children.setdefault(parent if parent in names else None, []).append(branch)
    ordered: list[dict] = []

    def visit(branch: dict, depth: int) -> None:
        ordered.append({**branch, "depth": depth})
        for child in children.get(branch["branch_id"], []):
            visit(child, depth + 1)

    for root in [b for b in summaries if b["branch_id"] == MAIN_BRANCH] + children.get(None, []):
        visit(root, 0)
    return ordered


def _turn_chart(usage_rows: list[dict], turn_count: int) -> dict:
    """Usage per turn for the chart, every turn of the branch (zeros where none was recorded)."""
    by_turn = {row["turn"]: row for row in usage_rows}
    turns = list(range(1, turn_count + 1))
    rows = [by_turn.get(turn) for turn in turns]

    def series(key: str) -> list[int]:
        return [row[key] if row else 0 for row in rows]

    return {
        "labels": [f"Turn {turn}" for turn in turns],
        "uncached_input": series("uncached_input_tokens"),
        "cached": series("cached_tokens"),
        "output": series("plain_output_tokens"),
        "reasoning": series("reasoning_tokens"),
        "cost": [float(row["cost"]) if row and row["cost"] is not None else None for row in rows],
        "model": [row["model_name"] if row else None for row in rows],
    }


def _tool_table(session_id: str, branch_id: str) -> list[dict]:
    tools: dict[str, dict] = {}
    for name, calls, turn in queries.tool_usage(session_id, branch_id):
        tool = tools.setdefault(name or "(unnamed)", {"name": name or "(unnamed)", "calls": 0})
        tool["calls"] += calls
        tool.setdefault("turns", set()).add(turn)
    table = [{**tool, "turns": len(tool["turns"])} for tool in tools.values()]
    return sorted(table, key=lambda tool: (-tool["calls"], tool["name"]))


KIND_LABELS = {
    "user": "User",
    "assistant": "Assistant",
    "tool_call": "Tool call",
    "tool_output": "Tool output",
    "reasoning": "Reasoning",
    "expired": "Expired",
}


def _item_without_text(item: dict) -> dict:
    """What a transcript item shows without its text: its kind, tool and size."""
    return {
        "kind": item["kind"],
        "label": KIND_LABELS.get(item["kind"], item["type"]),
        "type": item["type"],
        "tool_name": item["tool_name"],
        "size": len(item["text"]) + len(item["detail"]),
        "withheld": True,
    }


def _transcript_without_text(transcript: list[dict]) -> list[dict]:
    return [
        {**turn, "items": [_item_without_text(item) for item in turn["items"]]}
        for turn in transcript
    ]


def conversation_detail_get(
    *, session: AgentSession, branch_id: str, page: int | None = None, with_text: bool = True
) -> dict[str, Any] | None:
    """Everything the conversation page shows of one branch; None if there is no such branch.

    The transcript comes a page of turns at a time, the newest page unless
    another is asked for; the chart covers every turn. Without with_text, its
    items keep their kind, tool and size, and no text.
    """
    all_usage = queries.branch_usage(session.pk)
    summaries = queries.branch_summaries(session.pk, usage=all_usage)
    current = next((b for b in summaries if b["branch_id"] == branch_id), None)
    if current is None:
        return None
    turn_count = queries.branch_turn_count(session.pk, branch_id)
    num_pages = max(1, math.ceil(turn_count / TURNS_PER_PAGE))
    number = min(max(page or num_pages, 1), num_pages)
    first_turn = None if number == 1 else (number - 1) * TURNS_PER_PAGE + 1
    last_turn = None if number == num_pages else number * TURNS_PER_PAGE
    usage_rows = [row for row in all_usage if row["branch_id"] == branch_id]
    transcript = queries.branch_transcript(
        session.pk,
        branch_id,
        first_turn=first_turn,
        last_turn=last_turn,
        usage=usage_rows,
        ttl=session.ttl_seconds,
    )
    return {
        "session": session,
        "branch": current,
        "branch_id": branch_id,
        "active_branch_id": session.active_branch_id or MAIN_BRANCH,
        "branches": _branch_tree(summaries),
        "compare_with": next(
            (b["branch_id"] for b in summaries if b["branch_id"] != branch_id), branch_id
        ),
        "conversation_usage": queries.usage_totals(all_usage),
        "turn_count": turn_count,
        "turn_page": {
            "number": number,
            "num_pages": num_pages,
            "first": first_turn or 1,
            "last": min(last_turn or turn_count, turn_count),
        },
        "transcript": transcript if with_text else _transcript_without_text(transcript),
        "with_text": with_text,
        "chart": _turn_chart(usage_rows, turn_count),
        "tools": _tool_table(session.pk, branch_id),
        "version": queries.conversation_version(session.pk),
        "metadata": metadata_rows(session.metadata),
    }


def metadata_rows(metadata: Any) -> list[tuple[str, str]]:
    """(key, value as text) of a conversation's metadata, keys in order; JSON for non-strings."""
    if not isinstance(metadata, dict):
        return []
    return [
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in sorted(metadata.items())
    ]


def _side_without_text(side: dict) -> dict:
    """A compare side's user message as its size, not its text."""
    without = {key: value for key, value in side.items() if key != "text"}
    if not side["present"]:
        return without
    return {**without, "size": len(side.get("text") or ""), "withheld": True}


def branch_comparison_get(
    *, session: AgentSession, branch_a: str, branch_b: str | None, with_text: bool = True
) -> dict | None:
    """Two branches side by side: per-turn text and usage, and each branch's totals.

    Without branch_b, branch_a is compared with the oldest other branch.
    Without with_text, each side's user message shows its size, not its text.
    """
    summaries = {b["branch_id"]: b for b in queries.branch_summaries(session.pk)}
    if branch_b is None:
        branch_b = next((name for name in summaries if name != branch_a), branch_a)
    if branch_a not in summaries or branch_b not in summaries:
        return None
    turns = queries.branch_comparison(session.pk, branch_a, branch_b)
    if not with_text:
        turns = [
            {**row, "a": _side_without_text(row["a"]), "b": _side_without_text(row["b"])}
            for row in turns
        ]
    return {
        "session": session,
        "branch_names": list(summaries),
        "a": summaries[branch_a],
        "b": summaries[branch_b],
        "turns": turns,
        "with_text": with_text,
    }
