"""The scale data set's writer (seed_demo --scale): whole dated histories, in bulk.

A history is a conversation as append_items, record_usage and fork would have
left it, with its own timestamps. write_histories writes a batch of them a
table at a time (COPY on PostgreSQL), numbering sequences, turns and forks as
those writes do: a million messages turn by turn would take hours.
"""

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .. import encryption, pricing
from .. import items as sdk_items
from ..conversations import ConversationError
from ..conversations.usage import usage_details_dict
from ..models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)

# --- histories ---------------------------------------------------------------------


@dataclass
class HistoryTurn:
    """One user turn of a history: its items (a user message first), when, and its usage."""

    items: list
    at: datetime.datetime
    usage: Any = None  # anything with the fields of agents.usage.Usage
    model_name: str | None = None


@dataclass
class HistoryBranch:
    """A branch forked from user turn N of its parent (a copy of the turns before N)."""

    branch_id: str
    forked_from_turn: int
    turns: list[HistoryTurn]
    parent_branch_id: str = MAIN_BRANCH
    at: datetime.datetime | None = None  # when it was made; default: its first turn's time


@dataclass
class History:
    """A whole new conversation as append_items, record_usage and fork would have left it."""

    session_id: str
    turns: list[HistoryTurn]
    title: str | None = None
    branches: list[HistoryBranch] = field(default_factory=list)
    active_branch_id: str = MAIN_BRANCH


def _history_turns(history: History) -> list[HistoryTurn]:
    return history.turns + [turn for branch in history.branches for turn in branch.turns]


# --- rows: one per table, each field named as the model's field it fills -------------


class SessionRow(NamedTuple):
    session_id: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    title: str | None
    active_branch_id: str


class MessageRow(NamedTuple):
    session_id: str
    message_data: str
    created_at: datetime.datetime
    id: int | None = None  # PostgreSQL: taken from the table's sequence before COPY


class StructureRow(NamedTuple):
    session_id: str
    message_id: int  # until written, the message's index in PreparedHistories.messages
    branch_id: str
    message_type: str
    sequence_number: int
    user_turn_number: int
    branch_turn_number: int
    tool_name: str | None
    created_at: datetime.datetime


class UsageRow(NamedTuple):
    session_id: str
    branch_id: str
    user_turn_number: int
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict | None
    output_tokens_details: dict | None
    created_at: datetime.datetime
    model_name: str | None
    cost: Any = None  # fixed by write_histories, which reads the prices


class BranchRow(NamedTuple):
    session_id: str
    branch_id: str
    parent_branch_id: str
    forked_from_turn: int
    created_at: datetime.datetime


class AuditRow(NamedTuple):
    at: datetime.datetime
    actor_label: str
    action: str
    session_id: str
    detail: dict


@dataclass
class PreparedHistories:
    """Histories checked and turned into rows, ready for write_histories."""

    session_ids: list[str] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    structure: list[StructureRow] = field(default_factory=list)
    usage: list[UsageRow] = field(default_factory=list)
    branches: list[BranchRow] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)


# --- preparing ---------------------------------------------------------------------


def _encoded_turn(session_id: str, turn: HistoryTurn) -> list[str]:
    """The turn's items encoded; ConversationError unless only its first item is a user's."""
    users = [sdk_items.is_user_message(item) for item in turn.items]
    if not users or not users[0] or any(users[1:]):
        raise ConversationError(
            f"Conversation '{session_id}': a turn is one user message and the items answering it"
        )
    encoded = [sdk_items.encode_item(item) for item in turn.items]
    return encryption.stored_texts(session_id, turn.items, encoded)


class _HistoryWriter:
    """One history's rows, numbered as append_items and fork number them."""

    def __init__(self, history: History, rows: PreparedHistories):
        self.history, self.rows = history, rows
        self.sequence = 0
        self.held: dict[str, list[StructureRow]] = {MAIN_BRANCH: []}  # each branch's rows

    def write(self, actor_label: str) -> None:
        history, session_id = self.history, self.history.session_id
        if not history.turns:
            raise ConversationError(f"Conversation '{session_id}' has no turns")
        first_message = len(self.rows.messages)
        self.turns(MAIN_BRANCH, history.turns, first_turn=1)
        for branch in history.branches:
            self.fork(branch)
            self.turns(branch.branch_id, branch.turns, first_turn=branch.forked_from_turn)
        if history.active_branch_id not in self.held:
            raise ConversationError(f"Branch '{history.active_branch_id}' does not exist")
        times = [turn.at for turn in _history_turns(history)]
        self.rows.sessions.append(
            SessionRow(session_id, min(times), max(times), history.title, history.active_branch_id)
        )
        detail = {
            "messages": len(self.rows.messages) - first_message,
            "branches": len(history.branches),
        }
        self.rows.audit.append(
            AuditRow(max(times), actor_label, AuditEntry.Action.IMPORT, session_id, detail)
        )

    def turns(self, branch_id: str, turns: list[HistoryTurn], *, first_turn: int) -> None:
        session_id = self.history.session_id
        for number, turn in enumerate(turns, start=first_turn):
            for item, data in zip(turn.items, _encoded_turn(session_id, turn), strict=True):
                self.rows.messages.append(MessageRow(session_id, data, turn.at))
                self.add_structure(
                    StructureRow(
                        session_id=session_id,
                        message_id=len(self.rows.messages) - 1,
                        branch_id=branch_id,
                        message_type=sdk_items.message_type(item),
                        sequence_number=self.next_sequence(),
                        user_turn_number=number,
                        branch_turn_number=number,
                        tool_name=sdk_items.tool_name(item),
                        created_at=turn.at,
                    )
                )
            if turn.usage is not None:
                self.rows.usage.append(self.usage_row(branch_id, number, turn))

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def add_structure(self, row: StructureRow) -> None:
        self.rows.structure.append(row)
        self.held[row.branch_id].append(row)

    def fork(self, branch: HistoryBranch) -> None:
        """As fork(): the parent's rows of the turns before N, copied to the new branch."""
        session_id, name, turn = self.history.session_id, branch.branch_id, branch.forked_from_turn
        if not name or not name.strip() or name in self.held:
            raise ConversationError(
                f"Conversation '{session_id}': branch name {name!r} is empty or used twice"
            )
        parent = self.held.get(branch.parent_branch_id, [])
        if not any(row.message_type == "user" and row.branch_turn_number == turn for row in parent):
            raise ConversationError(
                f"Turn {turn} does not contain a user message in branch '{branch.parent_branch_id}'"
            )
        at = branch.at or (
            branch.turns[0].at if branch.turns else max(row.created_at for row in parent)
        )
        self.held[name] = []
        for row in parent:
            if row.branch_turn_number < turn:
                sequence = self.next_sequence()
                copied = row._replace(branch_id=name, sequence_number=sequence, created_at=at)
                self.add_structure(copied)
        self.rows.branches.append(BranchRow(session_id, name, branch.parent_branch_id, turn, at))

    def usage_row(self, branch_id: str, number: int, turn: HistoryTurn) -> UsageRow:
        usage = turn.usage
        return UsageRow(
            session_id=self.history.session_id,
            branch_id=branch_id,
            user_turn_number=number,
            requests=usage.requests or 0,
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            total_tokens=usage.total_tokens or 0,
            input_tokens_details=usage_details_dict(getattr(usage, "input_tokens_details", None)),
            output_tokens_details=usage_details_dict(getattr(usage, "output_tokens_details", None)),
            created_at=turn.at,
            model_name=turn.model_name,
        )


def prepare_histories(
    histories: list[History], *, actor_label: str = "command"
) -> PreparedHistories:
    """Check histories and build their rows, without the database (see write_histories).

    A bad history raises ConversationError. Preparing apart lets a caller build
    the next batch while the database writes the last one.
    """
    rows = PreparedHistories(session_ids=[history.session_id for history in histories])
    if len(set(rows.session_ids)) != len(rows.session_ids):
        raise ConversationError("A conversation appears twice in one batch of histories")
    for history in histories:
        _HistoryWriter(history, rows).write(actor_label)
    return rows


# --- writing -----------------------------------------------------------------------


class _HistoryPrices:
    """Prices in force by model and day, each looked up once per write."""

    def __init__(self, *, using: str):
        self.using = using
        self.in_force: dict[tuple, Any] = {}

    def cost(self, row: UsageRow) -> Any:
        """The turn's cost at the price in force on its day, as record_usage fixes it."""
        key = (row.model_name, row.created_at.date())
        if key not in self.in_force:
            self.in_force[key] = pricing.price_in_force(*key, using=self.using)
        return pricing.cost_of(
            self.in_force[key],
            input_tokens=row.input_tokens,
            cached_tokens=(row.input_tokens_details or {}).get("cached_tokens") or 0,
            output_tokens=row.output_tokens,
        )


def _write_rows(model, rows: list, *, using: str) -> None:
    """One table's rows: COPY on PostgreSQL (about ten times INSERT's speed), else bulk_create."""
    if not rows:
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        model.objects.using(using).bulk_create(
            [model(**row._asdict()) for row in rows], batch_size=1000
        )
        return
    fields = [model._meta.get_field(name) for name in rows[0]._fields]
    json_columns = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            if json_columns:
                row = list(row)
                for index in json_columns:
                    row[index] = json.dumps(row[index]) if row[index] is not None else None
            copy.write_row(row)


def _write_messages(messages: list[MessageRow], *, using: str) -> list[int]:
    """Insert the messages; returns their ids, in order."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        created = AgentMessage.objects.using(using).bulk_create(
            [AgentMessage(**message._asdict()) for message in messages], batch_size=1000
        )
        return [message.pk for message in created]
    # COPY returns no ids: take them from the table's sequence first, in order.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [AgentMessage._meta.db_table, len(messages)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    numbered = [message._replace(id=pk) for pk, message in zip(ids, messages, strict=True)]
    _write_rows(AgentMessage, numbered, using=using)
    return ids


def write_histories(
    histories: list[History] | PreparedHistories,
    *,
    actor_label: str = "command",
    using: str = DEFAULT_DB_ALIAS,
) -> dict[str, int]:
    """Write whole new conversations with their own timestamps, in one transaction.

    The rows are those append_items, record_usage and fork would have written
    turn by turn (costs at the price in force on each turn's day), written a
    table at a time: about 10,000 messages a second on PostgreSQL, where the
    per-turn writes manage a few hundred. Every conversation must be new; a bad
    history raises ConversationError and nothing is written. Each conversation
    gets an "import" audit entry. Returns the rows written per table.
    """
    rows = histories
    if not isinstance(rows, PreparedHistories):
        rows = prepare_histories(histories, actor_label=actor_label)
    prices = _HistoryPrices(using=using)
    usage = [row._replace(cost=prices.cost(row)) for row in rows.usage]
    with transaction.atomic(using=using):
        taken = AgentSession.objects.using(using).filter(pk__in=rows.session_ids)
        if existing := taken.values_list("pk", flat=True).first():
            raise ConversationError(f"Conversation '{existing}' already exists")
        _write_rows(AgentSession, rows.sessions, using=using)
        message_ids = _write_messages(rows.messages, using=using)
        structure = [row._replace(message_id=message_ids[row.message_id]) for row in rows.structure]
        _write_rows(MessageStructure, structure, using=using)
        _write_rows(TurnUsage, usage, using=using)
        _write_rows(Branch, rows.branches, using=using)
        _write_rows(AuditEntry, rows.audit, using=using)
    return {
        "conversations": len(rows.sessions),
        "messages": len(rows.messages),
        "structure_rows": len(structure),
        "usage_rows": len(usage),
        "branches": len(rows.branches),
    }
