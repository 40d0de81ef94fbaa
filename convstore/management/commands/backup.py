"""manage.py backup PATH

Backs the database up into a new file at PATH, while agents keep writing.

SQLite: a consistent online copy through SQLite's backup API (the database as
of one moment), then opened on its own and checked with PRAGMA
integrity_check; prints its size, the rows of every table and the time taken.
PostgreSQL: pg_dump --format=custom when pg_dump is on the PATH; otherwise it
says what to run. PATH must not exist yet. Each backup is recorded in the
audit log ("Backup taken", by "command": path, size, seconds).
"""

from django.core.management.base import BaseCommand, CommandError

from convstore import conversations
from convstore.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back the database up into a new file while agents write (SQLite or pg_dump)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup file to create (it must not exist)")
        parser.add_argument(
            "--database", default="default", help="The database alias (default: default)"
        )

    def handle(self, *args, path: str, database: str, **options):
        try:
            report = backup(path, using=database)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if report.row_counts:
            width = max(len(table) for table in report.row_counts)
            for table, rows in report.row_counts.items():
                self.stdout.write(f"  {table:<{width}}  {rows:>12,}")
        if report.integrity is not None:
            self.stdout.write(f"integrity_check: {report.integrity}")
        conversations.record_backup(
            path=str(report.path),
            engine=report.engine,
            size=report.size,
            seconds=report.seconds,
            using=database,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up to {report.path}: {report.size:,} bytes in {report.seconds:.2f} s"
            )
        )
