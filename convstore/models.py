"""The four tables of the Agents SDK, mirrored by name and column, and our own few.

The SDK's writers insert only the SDK's columns, so every column we add is
nullable or has a database default, and SDK timestamps default in the database.
Foreign keys of the mirrored tables are declared without Django constraints and
created by migration 0002 as the SDK declares them (ON DELETE CASCADE) on
PostgreSQL, so a clear by the SDK's own writer cascades as it expects.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

MAIN_BRANCH = "main"

# The SDK's own columns of its four tables, in its schema's order: what an SDK
# file holds, and what moves in and out of one.
SDK_COLUMNS = {
    "agent_sessions": ("session_id", "created_at", "updated_at"),
    "agent_messages": ("id", "session_id", "message_data", "created_at"),
    "message_structure": (
        "id",
        "session_id",
        "message_id",
        "branch_id",
        "message_type",
        "sequence_number",
        "user_turn_number",
        "branch_turn_number",
        "tool_name",
        "created_at",
    ),
    "turn_usage": (
        "id",
        "session_id",
        "branch_id",
        "user_turn_number",
        "requests",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "input_tokens_details",
        "output_tokens_details",
        "created_at",
    ),
}


class AgentSession(models.Model):
    session_id = models.TextField(primary_key=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    # Ours.
    title = models.TextField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The branch a new DjangoSession continues on.
    active_branch_id = models.TextField(db_default=MAIN_BRANCH)
    # Bumped by every clear, so a session object sitting on a branch notices
    # that another object cleared the conversation and falls back to main.
    clear_generation = models.IntegerField(db_default=0)
    # The TTL a DjangoSession was given: items older than this many seconds
    # read as expired, and apply_retention deletes them.
    ttl_seconds = models.PositiveIntegerField(null=True, blank=True)
    # A legal hold: while held_at is set, nothing purges the conversation and
    # no retention policy trashes or trims it.
    held_at = models.DateTimeField(null=True, blank=True)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hold_reason = models.TextField(null=True, blank=True)
    # The max_messages the agent's DjangoSession last wrote with (None: keeps
    # everything), and how many items that limit has trimmed so far, on any branch.
    max_messages = models.IntegerField(null=True, blank=True)
    trimmed_items = models.IntegerField(db_default=0)
    # A JSON object agent code attaches (user id, customer, channel...): labels,
    # stored in plaintext even with encryption on, so that the list can filter by them.
    metadata = models.JSONField(null=True, blank=True)
    # Set on a conversation made by copying another one's branch.
    copied_from_session_id = models.TextField(null=True, blank=True)
    copied_from_branch_id = models.TextField(null=True, blank=True)
    copied_up_to_turn = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "agent_sessions"
        ordering = ["-updated_at"]
        permissions = [
            ("purge_agentsession", "Can purge conversations for good"),
            # Without it, staff see every figure of a conversation but no message text.
            ("view_content", "Can read message content"),
            ("hold_agentsession", "Can place and lift legal holds"),
        ]
        indexes = [
            # The conversation list and the overview: live conversations by activity.
            models.Index(
                fields=["-updated_at"],
                name="agent_sessions_live_recent",
                condition=models.Q(deleted_at__isnull=True),
            ),
            # The trash.
            models.Index(
                fields=["-deleted_at"],
                name="agent_sessions_trash",
                condition=models.Q(deleted_at__isnull=False),
            ),
            # The list's held filter and the storage page's legal holds.
            models.Index(
                fields=["-held_at"],
                name="agent_sessions_held",
                condition=models.Q(held_at__isnull=False),
            ),
            # apply_retention's TTL rule: the conversations that have a TTL.
            models.Index(
                fields=["session_id"],
                name="agent_sessions_with_ttl",
                condition=models.Q(ttl_seconds__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.session_id

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None

    @property
    def on_hold(self) -> bool:
        return self.held_at is not None


class AgentMessage(models.Model):
    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        AgentSession,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # idx_agent_messages_session_id covers it
        related_name="messages",
    )
    # The item exactly as json.dumps wrote it: TEXT, not JSON, for an exact round trip.
    message_data = models.TextField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "agent_messages"
        indexes = [
            # The SDK's idx_agent_messages_session_id: a session's messages in order.
            models.Index(fields=["session", "id"], name="idx_agent_messages_session_id"),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} of {self.session_id}"


class MessageStructure(models.Model):
    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        AgentSession,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # the composite indexes below start with it
        related_name="+",
    )
    message = models.ForeignKey(
        AgentMessage, on_delete=models.CASCADE, db_constraint=False, related_name="structure"
    )
    branch_id = models.TextField(default=MAIN_BRANCH, db_default=MAIN_BRANCH)
    message_type = models.TextField()
    sequence_number = models.IntegerField()
    user_turn_number = models.IntegerField(null=True)
    branch_turn_number = models.IntegerField(null=True)
    tool_name = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "message_structure"
        indexes = [
            # The next sequence number of a session (MAX over the session).
            models.Index(fields=["session", "sequence_number"], name="idx_structure_session_seq"),
            # Branch listing and counts.
            models.Index(fields=["session", "branch_id"], name="idx_structure_branch"),
            # Turn lookups: the current turn, a turn's rows, forking.
            models.Index(
                fields=["session", "branch_id", "user_turn_number"], name="idx_structure_turn"
            ),
            # Reading a branch in order, and its newest items for get_items(limit=N).
            models.Index(
                fields=["session", "branch_id", "sequence_number"],
                name="idx_structure_branch_seq",
            ),
            # Ours: forking (the turn's user message, the rows before it) and a
            # branch's turns in order, which go by branch_turn_number; without
            # it they read every row of the branch.
            models.Index(
                fields=["session", "branch_id", "branch_turn_number"],
                name="idx_structure_branch_turn",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} #{self.sequence_number} {self.message_type}"


class TurnUsage(models.Model):
    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        AgentSession,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # the composite indexes below start with it
        related_name="+",
    )
    branch_id = models.TextField(default=MAIN_BRANCH, db_default=MAIN_BRANCH)
    user_turn_number = models.IntegerField()
    requests = models.IntegerField(default=0, db_default=0)
    input_tokens = models.IntegerField(default=0, db_default=0)
    output_tokens = models.IntegerField(default=0, db_default=0)
    total_tokens = models.IntegerField(default=0, db_default=0)
    input_tokens_details = models.JSONField(null=True, blank=True)
    output_tokens_details = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    # Ours: fixed when the usage is recorded, so editing a price never reprices history.
    model_name = models.TextField(null=True, blank=True)
    cost = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    # Ours: the agent that answered (the run's last agent), and every agent that
    # took part through handoffs, in the order they first ran.
    agent_name = models.TextField(null=True, blank=True)
    agents = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "turn_usage"
        verbose_name_plural = "turn usage"
        constraints = [
            # store_run_usage replaces the row of a turn: one row per turn of a branch.
            models.UniqueConstraint(
                fields=["session", "branch_id", "user_turn_number"],
                name="turn_usage_session_branch_turn_uniq",
            ),
        ]
        indexes = [
            # Overview and time series: usage rows by day.
            models.Index(fields=["created_at"], name="turn_usage_created"),
            # The conversation list's agent filter: the conversations an agent answered in.
            models.Index(
                fields=["agent_name", "session"],
                name="turn_usage_agent",
                condition=models.Q(agent_name__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.branch_id} turn {self.user_turn_number}"


class Branch(models.Model):
    """A branch of a conversation, and the reservation of its name.

    Rows outlive the branch (deleted_at set): the SDK keeps a branch name
    reserved after the branch is deleted or the conversation cleared.
    """

    session = models.ForeignKey(
        AgentSession,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # branch_name_uniq starts with it
        related_name="branches",
    )
    branch_id = models.TextField()
    parent_branch_id = models.TextField(null=True, blank=True)
    forked_from_turn = models.IntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(db_default=Now())
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "convstore_branch"
        verbose_name_plural = "branches"
        ordering = ["created_at", "id"]
        constraints = [
            # A name is used once per conversation, ever.
            models.UniqueConstraint(fields=["session", "branch_id"], name="branch_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.branch_id

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


# What a message edit's audit detail holds of the item's text, and what shows instead.
MESSAGE_EDIT_TEXT_KEYS = ("before", "after")
TEXT_WITHHELD = "(withheld)"


class AuditEntry(models.Model):
    """Who changed what. Keeps the ids as text so it outlives a purge."""

    class Action(models.TextChoices):
        FORK = "fork", "Branch created"
        MAKE_ACTIVE = "make_active", "Branch made active"
        DELETE_BRANCH = "delete_branch", "Branch deleted"
        CLEAR = "clear", "Conversation cleared"
        TRASH = "trash", "Moved to trash"
        RESTORE = "restore", "Restored"
        PURGE = "purge", "Purged"
        EDIT = "edit", "Edited"
        RECOMPUTE = "recompute", "Structure recomputed"
        REPRICE = "reprice", "Usage repriced"
        IMPORT = "import", "Imported"
        ENCRYPT = "encrypt", "Items encrypted"
        REKEY = "rekey", "Items re-encrypted"
        READ = "read", "Content read"
        HOLD = "hold", "Legal hold placed"
        RELEASE_HOLD = "release_hold", "Legal hold lifted"
        EXPIRE = "expire", "Expired items deleted"
        BACKUP = "backup", "Backup taken"
        COPY = "copy", "Copied as new conversation"
        LOGIN_LOCKED = "login_locked", "Login locked out"

    at = models.DateTimeField(db_default=Now())
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What did it when there is no user: "agent", "command", ...
    actor_label = models.TextField(blank=True, default="")
    action = models.CharField(max_length=32, choices=Action.choices)
    session_id = models.TextField()
    branch_id = models.TextField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "convstore_audit"
        verbose_name_plural = "audit entries"
        ordering = ["-at", "-id"]
        indexes = [
            # The audit log page: newest first, optionally by conversation.
            models.Index(fields=["-at"], name="audit_at"),
            models.Index(fields=["session_id", "-at"], name="audit_session_at"),
            # conversations.record_content_read: this user's latest read of a
            # conversation's branch, to write one entry per few minutes, not per refresh.
            models.Index(
                fields=["actor", "session_id", "branch_id", "-at"],
                name="audit_reads_latest",
                condition=models.Q(action="read"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.session_id}"

    @property
    def who(self) -> str:
        return self.actor.get_username() if self.actor else (self.actor_label or "system")

    def detail_without_text(self):
        """The detail as shown to someone who may not read message text.

        A message edit records the item before and after: those are withheld.
        """
        detail = self.detail
        if self.action != self.Action.EDIT or not isinstance(detail, dict):
            return detail
        if "message_id" not in detail:
            return detail
        return {
            key: TEXT_WITHHELD if key in MESSAGE_EDIT_TEXT_KEYS else value
            for key, value in detail.items()
        }


class RetentionRun(models.Model):
    """One run of apply_retention: when, whether it was a dry run, and what it did."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    dry_run = models.BooleanField()
    # The policies in force for the run, in days (None: the rule was off / never).
    retain_days = models.IntegerField(null=True, blank=True)
    trash_days = models.IntegerField(null=True, blank=True)
    # Per rule: {"trash_idle": n, "purge_trash": n, "expired_items": n, "expired_conversations": n}.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "convstore_retention_run"
        ordering = ["-started_at", "-id"]
        indexes = [
            # The storage page: the last run, and the last run that was not a dry run.
            models.Index(fields=["dry_run", "-started_at"], name="retention_run_latest"),
        ]

    def __str__(self) -> str:
        return f"retention {'dry run ' if self.dry_run else ''}at {self.started_at}"


class ModelPrice(models.Model):
    """Price per million tokens of a model, in force from a date on."""

    model_name = models.TextField()
    effective_from = models.DateField()
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4)
    cached_input_per_million = models.DecimalField(max_digits=12, decimal_places=4)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4)

    class Meta:
        db_table = "convstore_model_price"
        ordering = ["model_name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_name", "effective_from"], name="model_price_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} from {self.effective_from}"
