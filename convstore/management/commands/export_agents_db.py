"""manage.py export_agents_db PATH [--session ID ...]

Writes conversations to a new SQLite file in the Agents SDK's own schema
(its tables, indexes and foreign keys, created by the SDK itself), so that
AdvancedSQLiteSession(session_id=..., db_path=PATH) opens it, with or
without create_tables=True, and carries on: every branch, the usage per
turn and the reserved branch names come along.

Without --session every conversation not in the trash is written. PATH must
not exist yet; the file appears only once it is complete.
"""

from django.core.management.base import BaseCommand, CommandError

from convstore.management.commands._options import add_session_option
from convstore.transfer import TransferError, export_sdk_database


class Command(BaseCommand):
    help = "Export conversations to a new SQLite file in the Agents SDK's schema."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The SQLite file to create")
        add_session_option(
            parser, "Export only this conversation (repeat for several); default: all live ones"
        )

    def handle(self, *args, path: str, sessions: list[str], **options):
        try:
            exported = export_sdk_database(path, sessions)
        except TransferError as exc:
            raise CommandError(str(exc)) from exc
        for session_id in exported:
            self.stdout.write(f"Exported {session_id!r}")
        count = len(exported)
        noun = "conversation" if count == 1 else "conversations"
        self.stdout.write(self.style.SUCCESS(f"{count} {noun} written to {path}"))
