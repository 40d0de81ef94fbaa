"""The data lifecycle: a conversation's TTL, legal holds, and the retention policies.

apply_retention runs the three rules in batches, each batch a short
transaction of its own, so an agent appending meanwhile waits for one batch at
most. Every candidate is checked again under its row lock, so a conversation
written to, restored or held during the run is left alone. Every move, purge
and deletion is audited under the actor label "retention".
"""

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import AgentMessage, AgentSession, AuditEntry, MessageStructure, RetentionRun
from ..policies import Policies, retention_policies
from .base import ConversationError, audit, lock_conversation, lock_existing_conversation
from .trash import purge

RETENTION_ACTOR = "retention"
HOLD_PERMISSION = "convstore.hold_agentsession"
HOLD_REASON_MAX_LENGTH = 2000

# Conversations per batch of the trash rule, and messages per batch of the TTL
# rule: small enough that a batch holds the write lock for milliseconds.
BATCH_SIZE = 100
EXPIRE_BATCH_SIZE = 500
# How many ids a report names per rule.
FIRST_IDS = 5

# The rules, in the order they run and report.
TRASH_IDLE = "trash idle"
PURGE_TRASH = "purge trash"
TTL_EXPIRY = "TTL expiry"
RULES = (TRASH_IDLE, PURGE_TRASH, TTL_EXPIRY)


# --- TTL ---------------------------------------------------------------------------


def set_ttl(*, session_id: str, ttl: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Remember the TTL a DjangoSession was given. Not audited: agent code sets it.

    One UPDATE, which takes the row lock itself, and only when the TTL changes.
    """
    AgentSession.objects.using(using).filter(pk=session_id).exclude(ttl_seconds=ttl).update(
        ttl_seconds=ttl
    )


# --- legal hold ----------------------------------------------------------------------


def _check_hold_request(actor, reason: str) -> str:
    if actor is not None and not actor.has_perm(HOLD_PERMISSION):
        raise PermissionError("Legal holds need the 'hold' permission")
    reason = (reason or "").strip()
    if not reason:
        raise ConversationError("A legal hold needs a reason")
    if len(reason) > HOLD_REASON_MAX_LENGTH:
        raise ConversationError(
            f"The reason is {len(reason):,} characters long;"
            f" at most {HOLD_REASON_MAX_LENGTH:,} are allowed"
        )
    return reason


def _hold_row(session_id: str, using: str) -> dict:
    return AgentSession.objects.using(using).values("held_at", "hold_reason").get(pk=session_id)


def place_hold(*, session_id: str, reason: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Put a conversation on legal hold: nothing purges, trashes by policy or trims it."""
    reason = _check_hold_request(actor, reason)
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using, allow_trash=True)
        if _hold_row(session_id, using)["held_at"] is not None:
            raise ConversationError(f"Conversation '{session_id}' is already on legal hold")
        AgentSession.objects.using(using).filter(pk=session_id).update(
            held_at=timezone.now(),
            held_by=actor if actor is not None and actor.is_authenticated else None,
            hold_reason=reason,
        )
        audit(AuditEntry.Action.HOLD, session_id, actor=actor, using=using, reason=reason)


def lift_hold(*, session_id: str, reason: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Lift a conversation's legal hold; the policies apply to it again."""
    reason = _check_hold_request(actor, reason)
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using, allow_trash=True)
        held = _hold_row(session_id, using)
        if held["held_at"] is None:
            raise ConversationError(f"Conversation '{session_id}' is not on legal hold")
        AgentSession.objects.using(using).filter(pk=session_id).update(
            held_at=None, held_by=None, hold_reason=None
        )
        audit(
            AuditEntry.Action.RELEASE_HOLD,
            session_id,
            actor=actor,
            using=using,
            reason=reason,
            held_since=held["held_at"].isoformat(),
            hold_reason=held["hold_reason"],
        )


# --- the retention rules -----------------------------------------------------------------


@dataclass
class RuleResult:
    """What one rule did (or, in a dry run, would do)."""

    conversations: int = 0
    items: int = 0
    first_ids: list[str] = field(default_factory=list)
    skipped: int = 0

    def add(self, session_id: str, items: int = 0) -> None:
        self.conversations += 1
        self.items += items
        if len(self.first_ids) < FIRST_IDS:
            self.first_ids.append(session_id)


@dataclass
class RetentionReport:
    policies: Policies
    dry_run: bool
    started_at: datetime.datetime
    results: dict[str, RuleResult]

    def counts(self) -> dict:
        return {
            "trash_idle": self.results[TRASH_IDLE].conversations,
            "purge_trash": self.results[PURGE_TRASH].conversations,
            "expired_items": self.results[TTL_EXPIRY].items,
            "expired_conversations": self.results[TTL_EXPIRY].conversations,
            "skipped": sum(result.skipped for result in self.results.values()),
        }


def idle_conversations(cutoff: datetime.datetime, *, using: str) -> QuerySet[AgentSession]:
    """Live conversations, not on hold, with no activity since cutoff."""
    return AgentSession.objects.using(using).filter(
        deleted_at__isnull=True, held_at__isnull=True, updated_at__lt=cutoff
    )


def trash_to_purge(cutoff: datetime.datetime, *, using: str) -> QuerySet[AgentSession]:
    """Conversations in the trash since before cutoff, not on hold."""
    return AgentSession.objects.using(using).filter(deleted_at__lt=cutoff, held_at__isnull=True)


def conversations_with_ttl(*, using: str) -> QuerySet[AgentSession]:
    return AgentSession.objects.using(using).filter(ttl_seconds__isnull=False, held_at__isnull=True)


def _expired_messages(session_id: str, ttl: int, now: datetime.datetime, using: str):
    cutoff = now - datetime.timedelta(seconds=ttl)
    return AgentMessage.objects.using(using).filter(session_id=session_id, created_at__lt=cutoff)


def _batches(queryset: QuerySet, batch_size: int) -> Iterator[list]:
    """The queryset's rows (pk, ...) in pk order, a batch at a time, read afresh for each batch."""
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        rows = list(page.order_by("pk").values_list("pk", "ttl_seconds")[:batch_size])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


OnBatch = Callable[[str, list[str]], None]


def _trash_idle_batch(ids: list[str], cutoff, days: int, using: str) -> list[str]:
    """Trash those of ids still idle, not held and live, checked under their row locks."""
    with transaction.atomic(using=using):
        # Locked in id order, as lock_conversations does, so no two writers deadlock.
        # On PostgreSQL, FOR UPDATE checks the condition again on the row as an
        # agent's append that was waiting left it.
        still_idle = list(
            idle_conversations(cutoff, using=using)
            .filter(pk__in=ids)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        AgentSession.objects.using(using).filter(pk__in=still_idle).update(
            deleted_at=timezone.now(), deleted_by=None
        )
        AuditEntry.objects.using(using).bulk_create(
            AuditEntry(
                action=AuditEntry.Action.TRASH,
                session_id=session_id,
                actor_label=RETENTION_ACTOR,
                detail={"rule": "idle", "retain_days": days},
            )
            for session_id in still_idle
        )
    return still_idle


def _trash_idle(policies, now, *, dry_run, batch_size, on_batch, using) -> RuleResult:
    result = RuleResult()
    cutoff = policies.idle_cutoff(now)
    if cutoff is None:
        return result
    for rows in _batches(idle_conversations(cutoff, using=using), batch_size):
        ids = [row[0] for row in rows]
        if on_batch is not None:
            on_batch(TRASH_IDLE, ids)
        done = ids if dry_run else _trash_idle_batch(ids, cutoff, policies.retain_days, using)
        for session_id in done:
            result.add(session_id)
        result.skipped += len(ids) - len(done)
    return result


def _purge_trash(policies, now, *, dry_run, batch_size, on_batch, using) -> RuleResult:
    result = RuleResult()
    cutoff = policies.trash_cutoff(now)
    if cutoff is None:
        return result
    skipped: set[str] = set()
    candidates = trash_to_purge(cutoff, using=using)
    for rows in _batches(candidates, batch_size):
        ids = [row[0] for row in rows]
        if on_batch is not None:
            on_batch(PURGE_TRASH, ids)
        for session_id in ids:
            if dry_run:
                result.add(session_id)
                continue
            try:
                purge(
                    session_id=session_id,
                    actor_label=RETENTION_ACTOR,
                    trashed_before=cutoff,
                    using=using,
                )
            except ConversationError:
                # Restored, held or purged by someone else since it was listed.
                skipped.add(session_id)
            else:
                result.add(session_id)
    result.skipped = len(skipped)
    return result


def _expire_batch(session_id: str, now, batch_size: int, using: str) -> int:
    """Delete up to batch_size of the conversation's expired items; how many went."""
    with transaction.atomic(using=using):
        if lock_conversation(session_id, using=using) is None:
            return 0
        row = AgentSession.objects.using(using).values("held_at", "ttl_seconds").get(pk=session_id)
        if row["held_at"] is not None or row["ttl_seconds"] is None:
            return 0
        ids = list(
            _expired_messages(session_id, row["ttl_seconds"], now, using)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        MessageStructure.objects.using(using).filter(message_id__in=ids).delete()
        AgentMessage.objects.using(using).filter(id__in=ids).delete()
        audit(
            AuditEntry.Action.EXPIRE,
            session_id,
            actor_label=RETENTION_ACTOR,
            using=using,
            items=len(ids),
            ttl_seconds=row["ttl_seconds"],
        )
    return len(ids)


def _expire_items(now, *, dry_run, batch_size, expire_batch_size, on_batch, using) -> RuleResult:
    result = RuleResult()
    for rows in _batches(conversations_with_ttl(using=using), batch_size):
        if on_batch is not None:
            on_batch(TTL_EXPIRY, [row[0] for row in rows])
        for session_id, ttl in rows:
            if dry_run:
                expired = _expired_messages(session_id, ttl, now, using).count()
            else:
                expired = 0
                while True:
                    deleted = _expire_batch(session_id, now, expire_batch_size, using)
                    expired += deleted
                    if deleted < expire_batch_size:
                        break
            if expired:
                result.add(session_id, items=expired)
    return result


def apply_retention(
    *,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    expire_batch_size: int = EXPIRE_BATCH_SIZE,
    on_batch: OnBatch | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> RetentionReport:
    """Apply the retention policies now: trash idle conversations, purge the old trash,
    delete items older than their conversation's TTL. Records the run.

    dry_run: count what would be done and change nothing but the run's record.
    on_batch(rule, ids) is called with each batch's ids before the batch is applied.
    """
    policies = retention_policies()
    started_at = timezone.now()
    now = now or started_at
    options = {"dry_run": dry_run, "batch_size": batch_size, "on_batch": on_batch, "using": using}
    results = {
        TRASH_IDLE: _trash_idle(policies, now, **options),
        PURGE_TRASH: _purge_trash(policies, now, **options),
        TTL_EXPIRY: _expire_items(now, expire_batch_size=expire_batch_size, **options),
    }
    report = RetentionReport(
        policies=policies, dry_run=dry_run, started_at=started_at, results=results
    )
    RetentionRun.objects.using(using).create(
        started_at=started_at,
        finished_at=timezone.now(),
        dry_run=dry_run,
        retain_days=policies.retain_days,
        trash_days=policies.trash_days,
        counts=report.counts(),
    )
    return report
