"""manage.py export_agents_db PATH [--session ID ...] [--decrypt]

Writes conversations to a new SQLite file in the Agents SDK's own schema
(its tables, indexes and foreign keys, created by the SDK itself), so that
AdvancedSQLiteSession(session_id=..., db_path=PATH) opens it, with or
without create_tables=True, and carries on: every branch, the usage per
turn and the reserved branch names come along.

With CONVSTORE_ENCRYPTION_KEYS set, items are written encrypted, each under
the newest key, so that the SDK's EncryptedSession(session_id,
AdvancedSQLiteSession(...) or SQLiteSession(...), newest key) reads them.
--decrypt writes them in plaintext instead; a conversation holding an item no
configured key opens then stops the command, and no file is written.

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
        parser.add_argument(
            "--decrypt",
            action="store_true",
            help="Write the items in plaintext (default: encrypted, when keys are set)",
        )

    def handle(self, *args, path: str, sessions: list[str], decrypt: bool, **options):
        try:
            exported = export_sdk_database(path, sessions, decrypt=decrypt)
        except TransferError as exc:
            raise CommandError(str(exc)) from exc
        for session_id in exported:
            self.stdout.write(f"Exported {session_id!r}")
        count = len(exported)
        noun = "conversation" if count == 1 else "conversations"
        self.stdout.write(self.style.SUCCESS(f"{count} {noun} written to {path}"))
