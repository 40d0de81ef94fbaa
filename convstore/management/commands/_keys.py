"""What encrypt_conversations and rotate_encryption_key share: options, progress, the end."""

from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from convstore import conversations, encryption
from convstore.conversations import ConversationError, KeyRun
from convstore.conversations.keys import BATCH_SIZE
from convstore.management.commands._options import add_session_option


def plural(count: int, word: str) -> str:
    return f"{count:,} {word if count == 1 else word + 's'}"


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class KeysCommand(BaseCommand):
    """A command that rewrites message_data in batches under the configured keys."""

    # "encrypted" or "re-encrypted", and the sentence for a run with nothing to do.
    done_word: str
    nothing_to_do: str

    def items(self, *, session_ids: list[str] | None, batch_size: int) -> Iterator[KeyRun]:
        raise NotImplementedError

    def add_arguments(self, parser):
        add_session_option(parser, "Only this conversation (repeat for several); default: all")
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=BATCH_SIZE,
            metavar="N",
            help=f"Items per transaction (default {BATCH_SIZE})",
        )
        parser.add_argument(
            "--vacuum-full",
            action="store_true",
            help=(
                "PostgreSQL: run VACUUM FULL agent_messages at the end, removing the old"
                " row versions that still hold the previous text (locks the table meanwhile)"
            ),
        )

    def handle(self, *args, sessions: list[str], batch_size: int, vacuum_full: bool, **options):
        if not encryption.enabled():
            raise CommandError(f"{encryption.SETTING} is not set: there is no key to encrypt with")
        if vacuum_full and connection.vendor != "postgresql":
            raise CommandError(
                "--vacuum-full is for PostgreSQL; on SQLite this command erases old copies itself"
            )
        run = None
        try:
            for run in self.items(session_ids=sessions or None, batch_size=batch_size):
                self.show_progress(run)
        except ConversationError as exc:
            raise CommandError(str(exc)) from exc
        except encryption.UnreadableItem as exc:
            self.erase_old_copies(vacuum_full=False)
            done = run.items_changed if run else 0
            were = "was" if done == 1 else "were"
            raise CommandError(
                f"{exc}. Nothing of the batch holding it was changed. {plural(done, 'item')}"
                f" {were} done before it; run again once the key is set."
            ) from exc
        self.show_summary(run, sessions)
        self.erase_old_copies(vacuum_full=vacuum_full)

    def show_progress(self, run: KeyRun) -> None:
        if run.done == 0:
            if run.to_do:
                where = plural(run.conversations, "conversation")
                self.stdout.write(f"{plural(run.to_do, 'item')} to do in {where}")
        else:
            self.stdout.write(f"{self.done_word.capitalize()} {run.done:,} of {run.to_do:,} items")
        self.stdout.flush()  # progress shows as it happens, also through a pipe

    def show_summary(self, run: KeyRun, sessions: list[str]) -> None:
        if run.to_do == 0:
            self.stdout.write(self.style.SUCCESS(self.nothing_to_do))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{self.done_word.capitalize()} {plural(run.items_changed, 'item')}"
                f" in {plural(len(run.changed), 'conversation')}."
            )
        )

    def erase_old_copies(self, *, vacuum_full: bool) -> None:
        """The previous versions of rewritten rows: emptied from SQLite's WAL, or on
        PostgreSQL removed by VACUUM FULL when asked for, else said to remain."""
        if connection.vendor == "sqlite":
            if conversations.truncate_sqlite_wal():
                self.stdout.write(
                    "SQLite: the bytes the rewrites freed were overwritten and the WAL emptied."
                )
            else:
                self.stdout.write(
                    self.style.WARNING(
                        "SQLite: other connections kept the WAL from being emptied, so it may"
                        " still hold previous versions; run again when they are idle."
                    )
                )
        elif vacuum_full:
            conversations.vacuum_full_messages()
            self.stdout.write(
                "PostgreSQL: VACUUM FULL agent_messages removed the old row versions."
            )
        else:
            self.stdout.write(
                "PostgreSQL keeps the previous versions of rewritten rows until VACUUM FULL"
                " agent_messages: run again with --vacuum-full (it locks the table while it runs)."
            )
