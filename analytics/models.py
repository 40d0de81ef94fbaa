"""Rollups the dashboard reads across conversations, kept exact by database triggers.

Summing every turn_usage and message_structure row on each overview or list
request costs seconds at a million messages. These tables hold the same
figures per conversation and day, a few rows per conversation, and triggers
(described by analytics.rollups, installed by the migrations) update a
conversation's rows in the statement that changes its usage or tool calls.
Being triggers, they see every writer: the write layer, bulk COPY, the SDK's
own writers, foreign-key cascades. Nothing in Python writes these tables but
`manage.py rebuild_rollups`, which re-sums them.
"""

from django.db import models

from convstore.models import AgentSession


class UsageDay(models.Model):
    """turn_usage summed per conversation, UTC day (of created_at) and model."""

    session = models.ForeignKey(
        AgentSession,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # usage_day_key starts with it
        related_name="+",
    )
    day = models.DateField()
    model_name = models.TextField()  # "" where the usage row names no model
    turns = models.BigIntegerField()
    requests = models.BigIntegerField()
    input_tokens = models.BigIntegerField()
    cached_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    reasoning_tokens = models.BigIntegerField()
    total_tokens = models.BigIntegerField()
    cost = models.DecimalField(max_digits=24, decimal_places=10)  # of the priced turns
    unpriced_turns = models.BigIntegerField()

    class Meta:
        db_table = "analytics_usage_day"
        constraints = [
            # The triggers' upsert key; also a conversation's rows for the list's figures.
            models.UniqueConstraint(fields=["session", "day", "model_name"], name="usage_day_key"),
        ]
        indexes = [
            # The overview: the rows of a period.
            models.Index(fields=["day"], name="usage_day_day"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.day} {self.model_name or 'unknown model'}"


class ToolDay(models.Model):
    """Tool calls per conversation, UTC day and tool; a call copied by a fork counts once."""

    session = models.ForeignKey(
        AgentSession,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # tool_day_key starts with it
        related_name="+",
    )
    day = models.DateField()
    tool_name = models.TextField()  # the item type where the call names no tool
    calls = models.BigIntegerField()

    class Meta:
        db_table = "analytics_tool_day"
        constraints = [
            models.UniqueConstraint(fields=["session", "day", "tool_name"], name="tool_day_key"),
        ]
        indexes = [
            # The overview's top tools of a period.
            models.Index(fields=["day"], name="tool_day_day"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.day} {self.tool_name}"
