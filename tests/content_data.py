"""A conversation whose every kind of text holds a marker, for the tests of who reads text.

The markers are in user text, assistant text, tool arguments, tool output and
reasoning, never in an id, a title, a tool name or a branch name, so a page
that shows figures only holds none of them.
"""

import json

from convstore import conversations
from convstore.conversations import Position
from tests import dashboard_data as data

MARKERS = {
    "user": "quokka-user-words",
    "assistant": "quokka-assistant-words",
    "arguments": "quokka-tool-arguments",
    "output": "quokka-tool-output",
    "reasoning": "quokka-reasoning-words",
}
# In every marker: a body without it holds none of them.
MARK = "quokka"

TOOL = "lookup_order"
# Each turn's usage (tests/dashboard_data.usage): 1,000 in + 300 out.
TOKENS_PER_TURN = 1300


def marked_items(number: int) -> list[dict]:
    call_id = f"call_{number}"
    return [
        {"role": "user", "content": f"{MARKERS['user']} {number}"},
        {
            "type": "function_call",
            "id": f"fc_{number}",
            "call_id": call_id,
            "name": TOOL,
            "arguments": json.dumps({"query": MARKERS["arguments"]}),
            "status": "completed",
        },
        {
            "type": "function_call_output",
            "call_id": call_id,
            "output": json.dumps({"note": MARKERS["output"]}),
        },
        {
            "type": "reasoning",
            "id": f"rs_{number}",
            "summary": [{"type": "summary_text", "text": MARKERS["reasoning"]}],
        },
        {
            "type": "message",
            "id": f"msg_{number}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": MARKERS["assistant"], "annotations": []}],
        },
    ]


def marked_turn(session_id: str, number: int, position: Position) -> Position:
    position = conversations.append_items(
        session_id=session_id, items=marked_items(number), position=position
    )
    conversations.record_usage(
        session_id=session_id, usage=data.usage(), model_name="gpt-4.1-mini", position=position
    )
    return position


def marked_conversation(session_id: str, *, turns: int = 2, branch: str | None = "retry") -> None:
    """turns marked turns on main; with branch, a branch from the last turn holding one more."""
    position = Position()
    for number in range(1, turns + 1):
        position = marked_turn(session_id, number, position)
    if branch is not None:
        _, forked, _ = conversations.fork(
            session_id=session_id, turn_number=turns, branch_name=branch
        )
        marked_turn(session_id, turns + 1, forked)
