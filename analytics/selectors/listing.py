"""The conversation list: search, filters, sorts and a page of figures."""

import datetime
import json

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast

from convstore.models import (
    AgentMessage,
    AgentSession,
    Branch,
    TurnUsage,
)

from ..models import UsageDay
from .common import (
    CONVERSATIONS_PER_PAGE,
    ROLLUP_SUMS,
    SORTS,
    Page,
    page_of,
    period_start,
    rollup_totals,
)

# --- the conversation list -------------------------------------------------------


def model_name_list() -> list[str]:
    """The models that usage was recorded for, for the list's filter."""
    return list(
        UsageDay.objects.exclude(model_name="")
        .order_by("model_name")
        .values_list("model_name", flat=True)
        .distinct()
    )


def agent_name_list() -> list[str]:
    """The agents that usage was recorded for, for the list's filter (index turn_usage_agent)."""
    return list(
        TurnUsage.objects.filter(agent_name__isnull=False)
        .order_by("agent_name")
        .values_list("agent_name", flat=True)
        .distinct()
    )


def _metadata_values(value: str) -> list:
    """The JSON values key=value matches: the text, and the number or boolean it spells
    ("42" finds 42 and "42")."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    return [value, parsed] if isinstance(parsed, int | float) else [value]  # booleans too


def _sqlite_text(value) -> str:
    """A JSON scalar as SQLite's json_extract gives it, cast to text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def metadata_matching(sessions: QuerySet[AgentSession], key: str, value: str) -> QuerySet:
    """The conversations whose metadata holds key=value."""
    values = _metadata_values(value)
    if connection.vendor == "postgresql":
        # metadata @> '{"key": value}': served by the GIN index agent_sessions_metadata.
        matched = Q()
        for candidate in values:
            matched |= Q(metadata__contains={key: candidate})
        return sessions.filter(matched)
    # SQLite cannot index arbitrary keys: this scans the live conversations.
    path = Value("$." + json.dumps(key))
    extracted = Func(F("metadata"), path, function="JSON_EXTRACT", output_field=TextField())
    return sessions.alias(metadata_value=Cast(extracted, output_field=TextField())).filter(
        metadata_value__in=[_sqlite_text(candidate) for candidate in values]
    )


def _live_branches() -> QuerySet[Branch]:
    return Branch.objects.filter(session_id=OuterRef("pk"), deleted_at__isnull=True)


def _words_query(q: str) -> str:
    """Every word of q, for to_tsquery; the last one also as a prefix ("refu" finds "refund").

    Quoted, each word goes through the same parser as the indexed text. A prefix
    of one or two letters would match most of the index, so those stay words.
    """
    words = q.split()
    terms = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    if words and len(words[-1]) >= 3:
        terms[-1] += ":*"
    return " & ".join(terms)


def messages_matching(q: str) -> QuerySet[AgentMessage]:
    if connection.vendor == "postgresql":
        # Words, case-insensitive: served by the GIN index agent_messages_words on
        # analytics_message_words(message_data), the words of the decoded JSON's
        # strings (analytics migration 0003). The expression must stay exactly this
        # for the planner to use the index.
        words = Func(
            "message_data", function="analytics_message_words", output_field=SearchVectorField()
        )
        return AgentMessage.objects.alias(words=words).filter(
            words=SearchQuery(_words_query(q), config="simple", search_type="raw")
        )
    # SQLite: a substring scan of the text as json.dumps writes it.
    return AgentMessage.objects.filter(message_data__icontains=json.dumps(q)[1:-1])


def _conversations_matching(
    *,
    q: str,
    since: datetime.datetime | None,
    branched: bool | None,
    model: str,
    search_text: bool,
    held: bool = False,
    agent: str = "",
    metadata: tuple[str, str] | None = None,
) -> QuerySet[AgentSession]:
    sessions = AgentSession.objects.filter(deleted_at__isnull=True)
    if held:
        sessions = sessions.filter(held_at__isnull=False)
    if since is not None:
        sessions = sessions.filter(updated_at__gte=since)
    if q:
        # Matched once here, in one query, not again by each query of the page
        # (count, totals, rows). Ids and titles match as substrings.
        by_name = AgentSession.objects.filter(Q(session_id__icontains=q) | Q(title__icontains=q))
        matched = by_name.order_by().values_list("pk", flat=True)
        if search_text:
            matched = matched.union(
                messages_matching(q).order_by().values_list("session_id", flat=True)
            )
        sessions = sessions.filter(pk__in=list(matched))
    if branched is not None:
        has_branches = Exists(_live_branches())
        sessions = sessions.filter(has_branches if branched else ~has_branches)
    if model:
        sessions = sessions.filter(
            session_id__in=UsageDay.objects.filter(model_name=model).values("session_id")
        )
    if agent:
        sessions = sessions.filter(
            session_id__in=TurnUsage.objects.filter(agent_name=agent).values("session_id")
        )
    if metadata is not None:
        sessions = metadata_matching(sessions, *metadata)
    return sessions


def per_session_aggregate(queryset: QuerySet, expression) -> Subquery:
    """An aggregate over a queryset correlated to the conversation row."""
    return Subquery(queryset.order_by().values("session_id").annotate(v=expression).values("v")[:1])


def _usage_figures() -> dict:
    """Per-conversation sums over every branch, from the rollup: a few rows per conversation."""
    usage = UsageDay.objects.filter(session_id=OuterRef("pk"))
    return {
        "turns": per_session_aggregate(usage, Sum("turns")),
        "tokens": per_session_aggregate(usage, Sum("total_tokens")),
        "cost": per_session_aggregate(usage, Sum("cost")),
        "unpriced_turns": per_session_aggregate(usage, Sum("unpriced_turns")),
        "unknown_model_turns": per_session_aggregate(usage, Sum("turns", filter=Q(model_name=""))),
    }


def with_conversation_figures(sessions: QuerySet[AgentSession]) -> QuerySet[AgentSession]:
    """Turns run, tokens and cost over all branches, and the live branch count."""
    return sessions.annotate(
        **_usage_figures(), branch_count=per_session_aggregate(_live_branches(), Count("id"))
    )


def _conversation_page(
    matching: QuerySet[AgentSession], *, sort: str, number: int, per_page: int, count: int
) -> Page:
    """The page's ids first, ordered by the sort's one figure; then the figures of those rows.

    Figures in the first query would be computed for every row an OFFSET skips.
    """
    key = sort if sort in SORTS and sort != "recent" else None
    ordering = [F("updated_at").desc(), "session_id"]
    if key is not None:
        matching = matching.annotate(**{key: _usage_figures()[key]})
        ordering.insert(0, F(key).desc(nulls_last=True))
    page = page_of(
        matching.order_by(*ordering).values_list("pk", flat=True),
        number=number,
        per_page=per_page,
        count=count,
    )
    rows = {
        row.pk: row
        for row in with_conversation_figures(AgentSession.objects.filter(pk__in=page.rows))
    }
    page.rows = [rows[pk] for pk in page.rows]
    return page


def _models_of(session_ids: list[str]) -> dict[str, list[str]]:
    models: dict[str, list[str]] = {}
    for session_id, model in (
        UsageDay.objects.filter(session_id__in=session_ids)
        .order_by("session_id", "model_name")
        .values_list("session_id", "model_name")
        .distinct()
    ):
        models.setdefault(session_id, []).append(model or "unknown model")
    return models


def user_id_of(metadata) -> str | None:
    """The metadata's user_id, as text, if it has one."""
    if not isinstance(metadata, dict) or metadata.get("user_id") is None:
        return None
    value = metadata["user_id"]
    return value if isinstance(value, str) else json.dumps(value)


def conversation_list(
    *,
    q: str = "",
    period: str = "all",
    branched: bool | None = None,
    model: str = "",
    held: bool = False,
    sort: str = "recent",
    page: int = 1,
    per_page: int = CONVERSATIONS_PER_PAGE,
    search_text: bool = True,
    agent: str = "",
    metadata: tuple[str, str] | None = None,
) -> Page:
    """Live conversations matching the filters, one page, with a totals line in page.extra.

    q matches ids and titles, and message text unless search_text is False;
    held keeps only the conversations on legal hold.
    """
    matching = _conversations_matching(
        q=q,
        since=period_start(period=period),
        branched=branched,
        model=model,
        search_text=search_text,
        held=held,
        agent=agent,
        metadata=metadata,
    )
    totals = UsageDay.objects.filter(session_id__in=matching.values("pk")).aggregate(**ROLLUP_SUMS)
    result = _conversation_page(
        matching, sort=sort, number=page, per_page=per_page, count=matching.count()
    )
    models = _models_of([session.pk for session in result.rows])
    for session in result.rows:
        session.models = models.get(session.pk, [])
        session.user_id = user_id_of(session.metadata)
    result.extra["show_user_id"] = any(session.user_id is not None for session in result.rows)
    result.extra["totals"] = {"conversations": result.count, **rollup_totals(totals)}
    return result
