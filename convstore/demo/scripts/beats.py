"""The pieces every persona's script is made of, and how a conversation picks its beats."""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ..tools import doc_search


@dataclass
class Reply:
    """One model call: tool calls and/or text, and a reasoning summary for reasoning models."""

    text: str | None = None
    calls: list[tuple[str, dict]] = field(default_factory=list)
    thought: str | None = None


@dataclass
class Beat:
    user: str
    replies: list[Reply]


BeatFn = Callable[[dict], Beat]


@dataclass
class Persona:
    slug: str
    agent_name: str
    instructions: str
    models: list[str]
    context: Callable[[random.Random], dict]
    title: Callable[[dict], str]
    beats: list[BeatFn]  # in order; a conversation takes the first few
    extras: list[BeatFn]  # asked in longer conversations, before the closer
    closer: BeatFn
    fork_at: int  # the turn a demo branch replaces
    alternative: list[BeatFn]  # what the branch asks instead, from fork_at on


def money(value: float) -> str:
    return f"${value:,.2f}"


def number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def doc_answer(query: str, lead: str) -> list[Reply]:
    found = doc_search(query)
    text = lead + " " + found[0]["snippet"] if found else lead
    if found:
        text += f" (help center: {found[0]['path']})"
    return [Reply(calls=[("search_docs", {"query": query})]), Reply(text=text)]


def max_turns(persona: Persona) -> int:
    return len(persona.beats) + len(persona.extras) + 1


def conversation_beats(persona: Persona, turns: int) -> list[BeatFn]:
    """The persona's first beats, then its extras, then the closer: `turns` beats."""
    body = (persona.beats + persona.extras)[: min(turns, max_turns(persona)) - 1]
    return [*body, persona.closer]
