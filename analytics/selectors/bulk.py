"""Which conversations a bulk action is about: rows chosen on a page, or all matching."""

from convstore.models import AgentSession

from .common import period_start
from .listing import _conversations_matching


def matching_conversation_ids(
    *, period: str = "all", search_text: bool = True, **filters
) -> list[str]:
    """Every live conversation the list's filter matches, in the list's default order.

    filters: the list's (q, branched, model, ...), as ConversationFilterForm.filters()
    gives them without its sort and page.
    """
    matching = _conversations_matching(
        since=period_start(period=period), search_text=search_text, **filters
    )
    return list(matching.order_by("-updated_at", "session_id").values_list("pk", flat=True))


def trash_ids() -> list[str]:
    """Every conversation in the trash, newest first, as the Trash page lists them."""
    trashed = AgentSession.objects.filter(deleted_at__isnull=False)
    return list(trashed.order_by("-deleted_at", "session_id").values_list("pk", flat=True))


def trash_count() -> int:
    return AgentSession.objects.filter(deleted_at__isnull=False).count()


def chosen_conversation_ids(*, ids: list[str], in_trash: bool) -> list[str]:
    """Those of ids that exist, in the trash or out of it, in the order given."""
    wanted = list(dict.fromkeys(ids))
    found = set(
        AgentSession.objects.filter(pk__in=wanted, deleted_at__isnull=not in_trash).values_list(
            "pk", flat=True
        )
    )
    return [session_id for session_id in wanted if session_id in found]
