"""The demo: about 30 conversations played by the real Runner against a scripted model.

Everything goes through the code agents and staff use: Runner.run with a
DjangoSession, store_run_usage, create_branch_from_turn, and
convstore.conversations for titles, the active branch and the trash. Only the
timestamps are then rewritten (see backdate), because the Runner writes "now".
"""

import datetime
import random
from dataclasses import dataclass, field

from agents import Agent, Runner, set_tracing_disabled
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .. import conversations
from ..models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from ..scripted import ScriptedModel, Step
from ..session import DjangoSession
from . import scripts
from .tools import TOOLS, run_tool

SEED = 3
DAYS = 60
REASONING_MODELS = ("o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano")
DEMO_ACTOR = "dana.ops"

# Turns of each conversation; the personas take turns (support, it, dispatch, billing,
# oncall), and only dispatch and oncall have beats for 12 turns.
LENGTHS = [
    *(7, 3, 6, 2, 8),
    *(5, 4, 12, 5, 6),
    *(2, 6, 4, 3, 11),
    *(8, 2, 9, 7, 5),
    *(4, 5, 3, 6, 12),
    *(3, 7, 5, 4, 2),
]


@dataclass
class BranchPlan:
    name: str
    fork_at: int
    beats: list
    model: str
    times: list[datetime.datetime] = field(default_factory=list)
    forked_at: datetime.datetime | None = None


@dataclass
class Plan:
    """One demo conversation: who, what, when."""

    session_id: str
    persona: scripts.Persona
    context: dict
    model: str
    title: str | None
    beats: list
    branches: list[BranchPlan] = field(default_factory=list)
    times: list[datetime.datetime] = field(default_factory=list)
    make_active: str | None = None
    active_at: datetime.datetime | None = None
    trash_at: datetime.datetime | None = None


# --- planning ---------------------------------------------------------------------


def plan_demo(now: datetime.datetime, seed: int = SEED) -> list[Plan]:
    rng = random.Random(seed)
    plans = []
    for index, turns in enumerate(LENGTHS):
        persona = scripts.PERSONAS[index % len(scripts.PERSONAS)]
        context = persona.context(rng)
        plans.append(
            Plan(
                session_id=f"{persona.slug}-{rng.getrandbits(32):08x}",
                persona=persona,
                context=context,
                # The first conversations of a persona get its first model, so every
                # model (the unknown ones too) is in the demo.
                model=persona.models[(index // len(scripts.PERSONAS)) % len(persona.models)],
                title=persona.title(context) if rng.random() < 0.85 else None,
                beats=scripts.conversation_beats(persona, turns),
            )
        )
    _plan_branches(plans)
    for plan, days_ago in zip(plans, _days_ago(len(plans), rng), strict=True):
        _plan_times(plan, days_ago, now, rng)
    return plans


def _plan_branches(plans: list[Plan]) -> None:
    """A branch in the first long-enough conversation of each persona, a second in one.

    The support branch (a replacement instead of a refund) is made active: the
    agent continues there, as when staff rewind a conversation.
    """
    branched = set()
    for plan in plans:
        persona = plan.persona
        if persona.slug in branched or len(plan.beats) <= persona.fork_at:
            continue
        branched.add(persona.slug)
        name = {
            "support": "replacement-instead",
            "it": "reset-profile",
            "dispatch": "split-crews",
            "billing": "oregon-no-tax",
            "oncall": "failover-first",
        }[persona.slug]
        plan.branches.append(BranchPlan(name, persona.fork_at, persona.alternative, plan.model))
        if persona.slug == "support":
            plan.make_active = name
        if persona.slug == "oncall":
            # The same incident replayed on another model, to compare cost side by side.
            other = "gpt-5" if plan.model != "gpt-5" else "o3"
            plan.branches.append(BranchPlan(f"rerun-{other}", 1, plan.beats[:3], other))


def _days_ago(count: int, rng: random.Random) -> list[int]:
    """A start day per conversation over the last DAYS days, busier lately, without long gaps.

    One day per equal slice of the spread (not `count` independent draws, which
    leave empty weeks in a month-long chart), in shuffled order.
    """
    days = [int(DAYS * (1 - (slot + rng.random()) / count) ** 1.4) for slot in range(count)]
    rng.shuffle(days)
    return days


def _plan_times(plan: Plan, days_ago: int, now: datetime.datetime, rng: random.Random) -> None:
    """When each turn happened: office hours of the given day, none in the future."""
    day = (now - datetime.timedelta(days=days_ago)).replace(hour=0, minute=0, second=0)
    start = day + datetime.timedelta(hours=rng.uniform(8, 19))
    clock = start
    for _ in plan.beats:
        plan.times.append(clock)
        clock += datetime.timedelta(seconds=rng.uniform(40, 420))
    for branch in plan.branches:
        clock += datetime.timedelta(minutes=rng.uniform(20, 900))
        branch.forked_at = clock
        for _ in branch.beats:
            clock += datetime.timedelta(seconds=rng.uniform(30, 300))
            branch.times.append(clock)
    if plan.make_active:
        clock += datetime.timedelta(minutes=3)
        plan.active_at = clock
    latest = now - datetime.timedelta(minutes=10)
    if clock > latest:
        _shift(plan, latest - clock)


def _shift(plan: Plan, delta: datetime.timedelta) -> None:
    plan.times = [time + delta for time in plan.times]
    for branch in plan.branches:
        branch.forked_at += delta
        branch.times = [time + delta for time in branch.times]
    if plan.active_at:
        plan.active_at += delta


# --- tokens -------------------------------------------------------------------------


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


class Meter:
    """Believable token counts: the prompt grows with the history; long prefixes get cached."""

    def __init__(self, persona: scripts.Persona, model: str, rng: random.Random):
        self.prompt = 320 + tokens(persona.instructions) + 90 * len(TOOLS)
        self.reasoning = model in REASONING_MODELS
        self.rng = rng
        self.previous_input = 0

    def steps(self, beat: scripts.Beat, history: int) -> tuple[list[Step], int]:
        """The beat's model calls as Steps, and the history size after the beat."""
        history += tokens(beat.user) + 4
        steps = []
        for reply in beat.replies:
            input_tokens = self.prompt + history
            cached = (self.previous_input // 128) * 128 if self.previous_input >= 1024 else 0
            self.previous_input = input_tokens
            said = (reply.text or "") + "".join(str(args) for _, args in reply.calls)
            thinking = self.rng.randint(64, 900) if self.reasoning else 0
            steps.append(
                Step(
                    text=reply.text,
                    tool_calls=reply.calls,
                    reasoning=reply.thought if self.reasoning else None,
                    input_tokens=input_tokens,
                    cached_tokens=min(cached, input_tokens),
                    output_tokens=tokens(said) + 12 * len(reply.calls) + thinking,
                    reasoning_tokens=thinking,
                )
            )
            history += tokens(said) + sum(tokens(run_tool(*call)) for call in reply.calls)
        return steps, history


# --- running -----------------------------------------------------------------------


async def _play(session, persona, model_name, beats, context, meter, history) -> list[int]:
    """Run the beats through the Runner on the session's branch; the history size after each."""
    model = ScriptedModel([], model=model_name)
    agent = Agent(
        name=persona.agent_name,
        instructions=persona.instructions,
        model=model,
        tools=list(TOOLS.values()),
    )
    sizes = []
    for beat_fn in beats:
        beat = beat_fn(context)
        steps, history = meter.steps(beat, history)
        model.add(*steps)
        result = await Runner.run(agent, beat.user, session=session)
        await session.store_run_usage(result)
        sizes.append(history)
    if model.calls != len(model.steps):
        raise RuntimeError(f"{persona.slug}: the script has steps the Runner did not use")
    return sizes


async def play(plan: Plan, rng: random.Random) -> None:
    """The conversation on main, then each branch forked from main and continued."""
    meter = Meter(plan.persona, plan.model, rng)
    session = DjangoSession(plan.session_id)
    sizes = [0] + await _play(session, plan.persona, plan.model, plan.beats, plan.context, meter, 0)
    for branch in plan.branches:
        session = DjangoSession(plan.session_id)
        await session.create_branch_from_turn(branch.fork_at, branch.name)
        meter = Meter(plan.persona, branch.model, rng)
        history = sizes[branch.fork_at - 1]
        await _play(session, plan.persona, branch.model, branch.beats, plan.context, meter, history)


def demo_actor():
    """The staff member the demo's dashboard actions are credited to; cannot log in."""
    user, created = get_user_model()._default_manager.get_or_create(
        username=DEMO_ACTOR,
        defaults={"first_name": "Dana", "last_name": "Ops", "is_staff": True, "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def finish(plans: list[Plan], actor, now: datetime.datetime) -> None:
    """Titles, the active branch and the trash: what staff did on the dashboard."""
    for plan in plans:
        if plan.title:
            conversations.set_title(session_id=plan.session_id, title=plan.title)
        if plan.make_active:
            conversations.set_active_branch(
                session_id=plan.session_id, branch_id=plan.make_active, actor=actor
            )
    trashed = next(plan for plan in reversed(plans) if not plan.branches)
    conversations.trash(session_id=trashed.session_id, actor=actor)
    trashed.trash_at = min(
        trashed.times[-1] + datetime.timedelta(hours=26), now - datetime.timedelta(minutes=5)
    )


# --- back-dating -------------------------------------------------------------------
#
# The Runner stamps every row with the time it ran, so a fresh demo would be a
# single spike at "now". To give the charts two months of shape, each seeded
# conversation's rows get the times its plan says, keeping their order: a
# message gets its turn's time (plus a few seconds per item), a row copied into
# a branch the branch's fork time, a usage row its turn's end. Only the rows of
# the conversations just seeded are touched.

ITEM_SECONDS = 3


def backdate(plan: Plan) -> None:
    turn_times = {(MAIN_BRANCH, turn): at for turn, at in enumerate(plan.times, start=1)}
    fork_times = {}
    for branch in plan.branches:
        fork_times[branch.name] = branch.forked_at
        for turn, at in enumerate(branch.times, start=branch.fork_at):
            turn_times[(branch.name, turn)] = at
    rows = list(
        MessageStructure.objects.filter(session_id=plan.session_id).order_by("sequence_number")
    )
    written_at, turn_ends, positions = {}, {}, {}
    for row in rows:
        key = (row.branch_id, row.branch_turn_number)
        if row.message_id in written_at:
            row.created_at = fork_times[row.branch_id]  # a copy made by the fork
            continue
        positions[key] = positions.get(key, -1) + 1
        row.created_at = turn_times[key] + datetime.timedelta(seconds=ITEM_SECONDS * positions[key])
        written_at[row.message_id] = turn_ends[key] = row.created_at
    MessageStructure.objects.bulk_update(rows, ["created_at"], batch_size=500)
    messages = list(AgentMessage.objects.filter(session_id=plan.session_id))
    for message in messages:
        message.created_at = written_at[message.pk]
    AgentMessage.objects.bulk_update(messages, ["created_at"], batch_size=500)
    usage = list(TurnUsage.objects.filter(session_id=plan.session_id))
    for row in usage:
        row.created_at = turn_ends[(row.branch_id, row.user_turn_number)]
    TurnUsage.objects.bulk_update(usage, ["created_at"], batch_size=500)
    for name, at in fork_times.items():
        Branch.objects.filter(session_id=plan.session_id, branch_id=name).update(created_at=at)
    _backdate_audit(plan, fork_times)
    AgentSession.objects.filter(pk=plan.session_id).update(
        created_at=plan.times[0],
        updated_at=max(written_at.values()),
        deleted_at=plan.trash_at,
    )


def _backdate_audit(plan: Plan, fork_times: dict) -> None:
    entries = AuditEntry.objects.filter(session_id=plan.session_id)
    entries.filter(action=AuditEntry.Action.EDIT).update(at=plan.times[0])
    for name, at in fork_times.items():
        entries.filter(action=AuditEntry.Action.FORK, branch_id=name).update(at=at)
    if plan.active_at:
        entries.filter(action=AuditEntry.Action.MAKE_ACTIVE).update(at=plan.active_at)
    if plan.trash_at:
        entries.filter(action=AuditEntry.Action.TRASH).update(at=plan.trash_at)


# --- the whole demo ------------------------------------------------------------------


class DemoExists(Exception):
    pass


async def seed(seed: int = SEED) -> list[Plan]:
    """Play every planned conversation; sync steps run in the ORM's thread."""
    from asgiref.sync import sync_to_async

    set_tracing_disabled(True)
    now = timezone.now()
    plans = plan_demo(now, seed)
    taken = await sync_to_async(_existing)([plan.session_id for plan in plans])
    if taken:
        raise DemoExists(f"The demo conversations are already there ({taken[0]}, ...)")
    rng = random.Random(seed + 1)
    for plan in plans:
        await play(plan, rng)
    await sync_to_async(_finish_and_backdate)(plans, now)
    return plans


def _existing(session_ids: list[str]) -> list[str]:
    return list(AgentSession.objects.filter(pk__in=session_ids).values_list("pk", flat=True))


def _finish_and_backdate(plans: list[Plan], now: datetime.datetime) -> None:
    finish(plans, demo_actor(), now)
    with transaction.atomic():
        for plan in plans:
            backdate(plan)
