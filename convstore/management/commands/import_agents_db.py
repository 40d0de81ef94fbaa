"""manage.py import_agents_db PATH [--session ID ...] [--encryption-key KEY]

Imports the conversations of a SQLite file written by the Agents SDK's
SQLiteSession or AdvancedSQLiteSession: messages, branches, structure and
usage. The file is opened read-only and never changed.

Items the SDK's EncryptedSession wrote are opened with --encryption-key (the
master key the file was written with), else with CONVSTORE_ENCRYPTION_KEYS,
and stored encrypted under this server's newest key, keeping the time each was
sealed (so a ttl counts as before). This server must have keys set: it would
otherwise store them in plaintext, and refuses. Structure the SDK recorded over
envelopes (every item 'other', no turns) is derived again from the items.

Running it again imports nothing new: a conversation already here with the
same items and usage is skipped. A file that is not such a database, or a
conversation id that exists here with different content, stops the command
with an error and nothing is imported.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from convstore.conversations import ConversationError
from convstore.encryption import check_master_key
from convstore.management.commands._options import add_session_option
from convstore.transfer import TransferError, import_sdk_database


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"


class Command(BaseCommand):
    help = (
        "Import conversations from a SQLite file written by the Agents SDK's "
        "SQLiteSession or AdvancedSQLiteSession (read-only; all or nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The SDK's SQLite database file")
        add_session_option(
            parser, "Import only this conversation (repeat for several); default: all"
        )
        parser.add_argument(
            "--encryption-key",
            metavar="KEY",
            help="The master key of a file written through the SDK's EncryptedSession"
            " (default: the keys of CONVSTORE_ENCRYPTION_KEYS)",
        )

    def handle(self, *args, path: str, sessions: list[str], encryption_key, **options):
        if encryption_key is not None:
            try:
                check_master_key(encryption_key, "--encryption-key")
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from exc
        try:
            report = import_sdk_database(path, sessions, key=encryption_key)
        except (TransferError, ConversationError) as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        for session_id, counts in report.imported.items():
            self.stdout.write(
                f"Imported {session_id!r}: {plural(counts['messages'], 'message')}, "
                f"{plural(counts['branches'], 'branch', 'branches')}, "
                f"{plural(counts['usage_rows'], 'usage row')}"
            )
        for session_id in report.unchanged:
            self.stdout.write(f"Already here, unchanged: {session_id!r}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{plural(len(report.imported), 'conversation')} imported, "
                f"{len(report.unchanged)} already here."
            )
        )
