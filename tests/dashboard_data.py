"""Conversations for the dashboard tests, written through the real write layer."""

import json
import uuid

from agents.usage import Usage
from django.test import Client
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from convstore import conversations
from convstore.conversations import Position
from convstore.models import AgentSession


def usage(*, input_tokens=1000, cached=200, output_tokens=300, reasoning=50, requests=1) -> Usage:
    return Usage(
        requests=requests,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=cached, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning),
    )


def turn_items(text: str, *, answer: str | None = None, tool: str | None = "lookup_order") -> list:
    """A user message, optionally a tool call and its output, reasoning, and an answer."""
    ref = uuid.uuid4().hex[:12]
    items: list[dict] = [{"role": "user", "content": text}]
    if tool:
        items += [
            {
                "type": "function_call",
                "id": f"fc_{ref}",
                "call_id": f"call_{ref}",
                "name": tool,
                "arguments": json.dumps({"query": text[:40]}),
                "status": "completed",
            },
            {
                "type": "function_call_output",
                "call_id": f"call_{ref}",
                "output": json.dumps({"status": "ok", "rows": 3}),
            },
        ]
    items += [
        {
            "type": "reasoning",
            "id": f"rs_{ref}",
            "summary": [{"type": "summary_text", "text": f"Thinking about: {text[:30]}"}],
        },
        {
            "type": "message",
            "id": f"msg_{ref}",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": answer or f"Answer to: {text}", "annotations": []}
            ],
        },
    ]
    return items


def add_turn(
    session_id: str,
    text: str,
    *,
    position: Position | None = None,
    model: str | None = "gpt-4.1-mini",
    tool: str | None = "lookup_order",
    answer: str | None = None,
    agents: list[str] | None = None,
    **tokens,
) -> Position:
    position = conversations.append_items(
        session_id=session_id,
        items=turn_items(text, answer=answer, tool=tool),
        position=position or Position(),
    )
    conversations.record_usage(
        session_id=session_id,
        usage=usage(**tokens),
        model_name=model,
        agents=agents,
        position=position,
    )
    return position


def conversation(
    session_id: str, *, turns: int = 3, title: str | None = None, model: str | None = "gpt-4.1-mini"
) -> Position:
    """A conversation of N turns on main, each with a tool call and recorded usage."""
    position = Position()
    for number in range(1, turns + 1):
        position = add_turn(
            session_id, f"Question {number} of {session_id}", position=position, model=model
        )
    if title is not None:
        # No write function sets a title (the agent side never does); the admin edits it.
        AgentSession.objects.filter(pk=session_id).update(title=title)
    return position


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
