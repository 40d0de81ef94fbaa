from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from analytics import rollups


class Command(BaseCommand):
    """Re-sum analytics_usage_day and analytics_tool_day from turn_usage and message_structure.

    The triggers keep both tables exact, so this is for a database whose rollups
    were not kept: restored from a backup made without them, say, or loaded with
    the triggers dropped. One transaction: the dashboard reads the old figures
    until it commits. On PostgreSQL, writes to turn_usage and message_structure
    wait meanwhile.
    """

    help = "Re-sum the dashboard's per-day rollups from the conversations' rows."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database: str, **options):
        rows = rollups.rebuild(using=database)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-summed the rollups: {rows.usage_days} usage rows (conversation, day, model),"
                f" {rows.tool_days} tool-call rows (conversation, day, tool)."
            )
        )
