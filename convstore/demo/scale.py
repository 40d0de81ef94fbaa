"""A large, exact-sized data set for benches: N conversations holding exactly M messages.

The content is the demo personas' turns, turned into SDK items directly (the
Runner would take hours for a million messages) and written in bulk by
bulk.write_histories. A few conversations have 500 turns; about one in ten has
a branch; usage rows carry models (some unknown) and costs; timestamps spread
over the last 60 days.
"""

import datetime
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import scripts
from .bulk import History, HistoryBranch, HistoryTurn
from .seed import REASONING_MODELS, tokens
from .tools import run_tool

LONG_TURNS = 500
MIN_MESSAGES = 4  # a conversation has at least two turns
BRANCH_SHARE = 0.1
ACTIVE_BRANCH_SHARE = 0.2
DAYS = 60


@dataclass
class Tokens:
    """A turn's usage, with the fields of agents.usage.Usage that write_histories reads."""

    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict = field(default_factory=dict)
    output_tokens_details: dict = field(default_factory=dict)


# --- items -------------------------------------------------------------------------


class Speaker:
    """Turns beats into the items the Runner would have stored, with usage."""

    def __init__(self, persona: scripts.Persona, model: str, rng: random.Random):
        self.persona = persona
        self.model = model
        self.reasoning = model in REASONING_MODELS
        self.rng = rng
        self.ids = itertools.count(1)
        self.prompt = 320 + tokens(persona.instructions) + 540
        self.history = 0

    def items(self, beat: scripts.Beat) -> tuple[list[dict], Tokens]:
        items = [{"content": beat.user, "role": "user"}]
        self.history += tokens(beat.user)
        input_tokens = output_tokens = thinking = cached = 0
        for reply in beat.replies:
            if input_tokens + self.prompt + self.history >= 1024:
                cached += ((self.prompt + self.history) // 128) * 128
            input_tokens += self.prompt + self.history
            said = self._reply_items(reply, items)
            reasoning = self.rng.randint(64, 900) if self.reasoning else 0
            thinking += reasoning
            output_tokens += said + reasoning
            self.history += said
        usage = Tokens(
            requests=len(beat.replies),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
            input_tokens_details={"cached_tokens": min(cached, input_tokens)},
            output_tokens_details={"reasoning_tokens": thinking},
        )
        return items, usage

    def _reply_items(self, reply: scripts.Reply, items: list) -> int:
        """Append one model call's items; returns the tokens it said."""
        said = 0
        if reply.thought and self.reasoning:
            items.append(
                {
                    "id": f"rs_{next(self.ids)}",
                    "summary": [{"text": reply.thought, "type": "summary_text"}],
                    "type": "reasoning",
                }
            )
        outputs = []
        for name, arguments in reply.calls:
            number = next(self.ids)
            encoded = json.dumps(arguments)
            items.append(
                {
                    "arguments": encoded,
                    "call_id": f"call_{number}",
                    "name": name,
                    "type": "function_call",
                    "id": f"fc_{number}",
                }
            )
            output = run_tool(name, arguments)
            outputs.append(
                {"call_id": f"call_{number}", "output": output, "type": "function_call_output"}
            )
            said += tokens(encoded) + 12
            self.history += tokens(output)
        if reply.text is not None:
            items.append(
                {
                    "id": f"msg_{next(self.ids)}",
                    "content": [{"annotations": [], "text": reply.text, "type": "output_text"}],
                    "role": "assistant",
                    "status": "completed",
                    "type": "message",
                }
            )
            said += tokens(reply.text)
        items.extend(outputs)
        return said


def beat_size(beat: scripts.Beat, reasoning: bool) -> int:
    size = 1
    for reply in beat.replies:
        size += 2 * len(reply.calls) + (reply.text is not None)
        size += bool(reply.thought and reasoning)
    return size


def filler(size: int, reasoning: bool, rng: random.Random) -> scripts.Beat:
    """A turn of exactly `size` items: a tax question answered with 0-2 calculator calls."""
    # An odd size takes a reasoning item, or without reasoning a short text beside the calls.
    pairs = (size - 2) // 2 if reasoning or size % 2 == 0 else (size - 3) // 2
    amounts = [rng.randint(2, 400) for _ in range(max(pairs, 1))]
    calls = [("calculator", {"expression": f"{amount} * 1.0825"}) for amount in amounts[:pairs]]
    odd = (size - 2 - 2 * pairs) == 1
    question = " and ".join(f"${amount}" for amount in amounts)
    answer = "; ".join(f"${amount} comes to ${amount * 1.0825:,.2f}" for amount in amounts)
    if not calls:
        first = scripts.Reply(text=answer + ".", thought="Add 8.25%." if odd else None)
        return scripts.Beat(f"Quick one: what is {question} with 8.25% tax?", [first])
    first = scripts.Reply(
        calls=calls,
        thought="Apply the tax to each amount." if odd and reasoning else None,
        text="Let me work that out." if odd and not reasoning else None,
    )
    return scripts.Beat(
        f"Quick one: what is {question} with 8.25% tax?",
        [first, scripts.Reply(text=answer + ".")],
    )


# --- conversations -------------------------------------------------------------------


class Writer:
    """One conversation's turns, from the persona's beats, to an exact number of items."""

    def __init__(self, persona: scripts.Persona, model: str, rng: random.Random):
        self.persona = persona
        self.speaker = Speaker(persona, model, rng)
        self.rng = rng
        self.context = persona.context(rng)
        self.beats = self._beats()

    def _beats(self) -> Iterator:
        # Long conversations go round the persona's beats again, with a new context each time.
        while True:
            yield from self.persona.beats + self.persona.extras + [self.persona.closer]
            self.context = self.persona.context(self.rng)

    def turn(self, beat: scripts.Beat, at: datetime.datetime) -> HistoryTurn:
        items, usage = self.speaker.items(beat)
        return HistoryTurn(items=items, at=at, usage=usage, model_name=self.speaker.model)

    def exactly(self, messages: int, clock: "Clock") -> list[HistoryTurn]:
        """Turns holding exactly `messages` items (at least 2, and not 3 without reasoning)."""
        reasoning = self.speaker.reasoning
        # Without reasoning items no turn has 3 items, so never leave 1 or 3 to fill.
        impossible = {1} if reasoning else {1, 3}
        turns = []
        while messages > 0:
            beat = next(self.beats)(self.context)
            size = beat_size(beat, reasoning)
            if size > messages or messages - size in impossible:
                if messages <= 7:
                    size = messages
                else:
                    size = self.rng.choice(
                        [n for n in (2, 4, 5, 6) if messages - n not in impossible]
                    )
                beat = filler(size, reasoning, self.rng)
            turn = self.turn(beat, clock.next())
            if len(turn.items) != size:
                raise AssertionError(f"a turn of {len(turn.items)} items, not {size}")
            turns.append(turn)
            messages -= size
        return turns

    def turns(self, count: int, clock: "Clock") -> list[HistoryTurn]:
        return [self.turn(next(self.beats)(self.context), clock.next()) for _ in range(count)]


class Clock:
    """Turn times: a start in the last 60 days (busier lately, quieter at weekends)."""

    def __init__(self, now: datetime.datetime, rng: random.Random):
        self.rng = rng
        while True:
            day = now - datetime.timedelta(days=int(DAYS * (1 - rng.random() ** 0.7)))
            if day.weekday() < 5 or rng.random() < 0.4:
                break
        self.time = day.replace(hour=7, minute=0, second=0) + datetime.timedelta(
            minutes=rng.uniform(0, 12 * 60)
        )

    def next(self) -> datetime.datetime:
        self.time += datetime.timedelta(seconds=self.rng.uniform(20, 300))
        return self.time

    def pause(self) -> None:
        self.time += datetime.timedelta(minutes=self.rng.uniform(10, 600))


def allocate(messages: int, conversations: int, rng: random.Random) -> list[int]:
    """Split `messages` over conversations: each at least MIN_MESSAGES, a long tail."""
    weights = [math.exp(rng.gauss(0, 1.0)) for _ in range(conversations)]
    spare = messages - MIN_MESSAGES * conversations
    total = sum(weights)
    sizes = [MIN_MESSAGES + int(spare * weight / total) for weight in weights]
    for index in rng.sample(range(conversations), messages - sum(sizes)):
        sizes[index] += 1
    return sizes


@dataclass
class Spec:
    """What one scale conversation will be."""

    index: int
    messages: int | None  # None: a LONG_TURNS conversation of any size
    branched: bool = False


def history(spec: Spec, now: datetime.datetime, seed: int) -> History:
    rng = random.Random(f"{seed}:{spec.index}")
    persona = rng.choice(scripts.PERSONAS)
    model = rng.choice(persona.models)
    writer, clock = Writer(persona, model, rng), Clock(now, rng)
    session_id = f"{persona.slug}-{spec.index:06d}-{rng.getrandbits(24):06x}"
    if spec.messages is None:
        turns = writer.turns(LONG_TURNS, clock)
        return _not_in_future(History(session_id, turns, title=_title(persona, writer)), now, rng)
    branch_size = rng.randint(MIN_MESSAGES, spec.messages // 3) if spec.branched else 0
    turns = writer.exactly(spec.messages - branch_size, clock)
    result = History(session_id, turns, title=_title(persona, writer))
    if branch_size:
        clock.pause()
        fork_at = rng.randint(2, len(turns))
        name = rng.choice(["retry", "rewind", "alt-answer", "escalated", "what-if"])
        branch = HistoryBranch(f"{name}-{fork_at}", fork_at, writer.exactly(branch_size, clock))
        result.branches.append(branch)
        if rng.random() < ACTIVE_BRANCH_SHARE:
            result.active_branch_id = branch.branch_id
    return _not_in_future(result, now, rng)


def _not_in_future(result: History, now: datetime.datetime, rng: random.Random) -> History:
    """Move a conversation that would end after now back in time, whole."""
    turns = [*result.turns, *(turn for branch in result.branches for turn in branch.turns)]
    late = max(turn.at for turn in turns) - now
    if late > datetime.timedelta(0):
        shift = late + datetime.timedelta(minutes=rng.uniform(1, 120))
        for turn in turns:
            turn.at -= shift
    return result


def _title(persona: scripts.Persona, writer: Writer) -> str | None:
    return persona.title(writer.context) if writer.rng.random() < 0.8 else None


def long_messages(spec: Spec, now: datetime.datetime, seed: int) -> int:
    return sum(len(turn.items) for turn in history(spec, now, seed).turns)


def plan(
    conversations: int, messages: int, long_conversations: int, now: datetime.datetime, seed: int
) -> list[Spec]:
    """Every conversation's size; fewer long ones when the others would not fit."""
    long_specs = [Spec(index, None) for index in range(long_conversations)]
    while long_specs:
        used = sum(long_messages(spec, now, seed) for spec in long_specs)
        if messages - used >= MIN_MESSAGES * (conversations - len(long_specs)):
            break
        long_specs.pop()
    else:
        used = 0
    if messages - used < MIN_MESSAGES * (conversations - len(long_specs)):
        raise ValueError(f"{messages} messages are too few for {conversations} conversations")
    rng = random.Random(seed)
    sizes = allocate(messages - used, conversations - len(long_specs), rng)
    return long_specs + [
        Spec(len(long_specs) + index, size, size >= 16 and rng.random() < BRANCH_SHARE)
        for index, size in enumerate(sizes)
    ]
