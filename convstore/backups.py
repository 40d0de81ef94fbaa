"""Online backups of the database: what `manage.py backup PATH` runs.

SQLite: SQLite's backup API copies the database in one step, inside one read
transaction, so the copy is the database as of one moment while agents keep
writing (WAL lets the writer go on beside that reader). The copy is then
opened on its own and checked with PRAGMA integrity_check.

PostgreSQL: pg_dump --format=custom, which dumps from one snapshot too; when
pg_dump is not on the PATH, BackupError says what to run.

A backup is written beside its final name and linked into place, so an
existing file is never overwritten and a half-written one never has the name.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections


class BackupError(Exception):
    """No backup was made; the message says why, and what to do."""


@dataclass
class BackupReport:
    path: Path
    engine: str
    size: int
    seconds: float
    # SQLite: what integrity_check said ("ok") and the rows of every table of the copy.
    integrity: str | None = None
    row_counts: dict[str, int] = field(default_factory=dict)


def _check_target(path: Path) -> None:
    if path.exists():
        raise BackupError(f"{path} already exists; choose a new file name")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")


def _partial_beside(path: Path) -> Path:
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    return Path(partial)


def _link_into_place(partial: Path, path: Path) -> None:
    try:
        # A hard link, unlike a rename, never replaces a file created meanwhile.
        os.link(partial, path)
    except FileExistsError:
        raise BackupError(f"{path} already exists; choose a new file name") from None


def _remove(partial: Path) -> None:
    for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)


def backup(path: str | Path, *, using: str = DEFAULT_DB_ALIAS) -> BackupReport:
    """Back the database up into a new file at path."""
    path = Path(path).absolute()
    _check_target(path)
    vendor = connections[using].vendor
    if vendor == "sqlite":
        return _backup_sqlite(path, using)
    if vendor == "postgresql":
        return _backup_postgresql(path, using)
    raise BackupError(f"Backups of {vendor} databases are not supported")


# --- SQLite ------------------------------------------------------------------------


def _sqlite_source(using: str) -> str:
    name = str(connections[using].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise BackupError(f"The database {name!r} is not a file; there is nothing to back up")
    return name


def check_sqlite_copy(path: Path) -> tuple[str, dict[str, int]]:
    """integrity_check's answer and the row count of every table, from the copy alone."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
        integrity = "; ".join(row[0] for row in copy.execute("PRAGMA integrity_check"))
        tables = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {
            table: copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables
        }
    return integrity, counts


def _backup_sqlite(path: Path, using: str) -> BackupReport:
    source_name = _sqlite_source(using)
    started = time.monotonic()
    partial = _partial_beside(path)
    try:
        timeout = connections[using].settings_dict.get("OPTIONS", {}).get("timeout", 30)
        with (
            closing(sqlite3.connect(source_name, timeout=timeout)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)  # every page in one step: one consistent read
            # One self-contained file: no -wal beside the copy.
            copy.execute("PRAGMA journal_mode=DELETE")
        integrity, counts = check_sqlite_copy(partial)
        if integrity != "ok":
            raise BackupError(f"The copy failed PRAGMA integrity_check: {integrity}")
        _link_into_place(partial, path)
    finally:
        _remove(partial)
    return BackupReport(
        path=path,
        engine="sqlite",
        size=path.stat().st_size,
        seconds=time.monotonic() - started,
        integrity=integrity,
        row_counts=counts,
    )


# --- PostgreSQL --------------------------------------------------------------------


def _pg_connection_arguments(using: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump's options naming the database, and the environment holding the password."""
    settings = connections[using].settings_dict
    arguments = []
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings.get(key):
            arguments.append(f"{option}={settings[key]}")
    arguments.append(f"--dbname={settings['NAME']}")
    environment = {"PGPASSWORD": settings["PASSWORD"]} if settings.get("PASSWORD") else {}
    return arguments, environment


def pg_dump_command(path: Path, *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    arguments, _environment = _pg_connection_arguments(using)
    return ["pg_dump", "--format=custom", f"--file={path}", *arguments]


def _backup_postgresql(path: Path, using: str) -> BackupReport:
    command = pg_dump_command(path, using=using)
    executable = shutil.which("pg_dump")
    if executable is None:
        shown = " ".join(command)
        raise BackupError(
            "pg_dump is not on the PATH. Install PostgreSQL's client tools (the same major"
            f" version as the server, or newer) and run:\n  {shown}\n"
            "(with the password in PGPASSWORD or ~/.pgpass)"
        )
    _arguments, environment = _pg_connection_arguments(using)
    started = time.monotonic()
    partial = _partial_beside(path)
    try:
        command[0] = executable
        command[2] = f"--file={partial}"
        finished = subprocess.run(
            command, env={**os.environ, **environment}, capture_output=True, text=True
        )
        if finished.returncode != 0:
            raise BackupError(f"pg_dump failed: {finished.stderr.strip()}")
        _link_into_place(partial, path)
    finally:
        _remove(partial)
    return BackupReport(
        path=path, engine="postgresql", size=path.stat().st_size, seconds=time.monotonic() - started
    )
