"""manage.py import_agents_db PATH [--session ID ...]

Imports the conversations of a SQLite file written by the Agents SDK's
SQLiteSession or AdvancedSQLiteSession: messages, branches, structure and
usage. The file is opened read-only and never changed.

Running it again imports nothing new: a conversation already here with the
same items and usage is skipped. A file that is not such a database, or a
conversation id that exists here with different content, stops the command
with an error and nothing is imported.
"""

from django.core.management.base import BaseCommand, CommandError

from convstore.conversations import ConversationError
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

    def handle(self, *args, path: str, sessions: list[str], **options):
        try:
            report = import_sdk_database(path, sessions)
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
