"""encrypt_conversations and rotate_encryption_key: rewriting stored items in place.

Items are written through DjangoSession and the real Runner (or the write
layer), before keys were set or under an older key; the commands run through
call_command, or as manage.py in a subprocess on the test database where one
is killed halfway.
"""

import asyncio
import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.backends.signals import connection_created

from convstore import conversations, encryption
from convstore.models import AgentMessage, AuditEntry, MessageStructure
from convstore.session import DjangoSession
from tests.sdk_files import run, run_turn, sdk_reads, text_turn
from tests.test_encryption import MARKER, assert_marker_stored_nowhere, encrypted, two_turns

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
KEY_C = Fernet.generate_key().decode()
COMMANDS = ["encrypt_conversations", "rotate_encryption_key"]


def run_command(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def message_rows(session_id: str | None = None) -> list[tuple[int, str, str]]:
    rows = AgentMessage.objects.order_by("id")
    if session_id is not None:
        rows = rows.filter(session_id=session_id)
    return list(rows.values_list("id", "session_id", "message_data"))


def structure_rows() -> list[dict]:
    return list(MessageStructure.objects.order_by("id").values())


def is_envelope(message_data: str) -> bool:
    return encryption.is_envelope(json.loads(message_data))


def payload(message_data: str) -> bytes:
    return json.loads(message_data)["payload"].encode()


def audit_entries(action: str) -> dict[str, list]:
    entries: dict[str, list] = {}
    for entry in AuditEntry.objects.filter(action=action).order_by("id"):
        assert entry.actor_label == "command"
        entries.setdefault(entry.session_id, []).append(entry.detail)
    return entries


def plain_items(writer: str, count: int) -> list[dict]:
    return [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"{writer} {n} {MARKER}"}
        for n in range(count)
    ]


async def branched_conversation(session) -> None:
    """Two turns holding MARKER, then a branch from turn 2 with a turn of its own."""
    await two_turns(session)
    await session.create_branch_from_turn(2, "retry")
    await run_turn(session, f"Again, {MARKER}?", text_turn(f"Yes, {MARKER}."))
    await session.switch_to_branch("main")


@contextlib.contextmanager
def sqlite_that_keeps_old_bytes():
    """SQLite with secure_delete off, as most builds ship it (Debian's turns it on), and
    one more connection open, so that closing ours does not checkpoint the WAL for us:
    what the commands leave in the file and its WAL shows as they left it."""
    if connection.vendor != "sqlite":
        yield
        return

    def secure_delete_off(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = OFF")

    connection_created.connect(secure_delete_off)
    connection.close()
    other = sqlite3.connect(connection.settings_dict["NAME"])
    other.execute("SELECT count(*) FROM sqlite_master").fetchall()  # now it uses the WAL
    try:
        yield
    finally:
        connection_created.disconnect(secure_delete_off)
        other.close()


# --- encrypt_conversations -------------------------------------------------------


def test_encrypt_conversations_seals_plaintext_items_in_place_and_they_read_the_same():
    with encrypted():
        run(branched_conversation(DjangoSession("first")))
        run(branched_conversation(DjangoSession("second")))
    reads = {sid: run(sdk_reads(DjangoSession(sid))) for sid in ("first", "second")}
    rows, structure = message_rows(), structure_rows()
    assert len(rows) == 16 and not any(is_envelope(data) for _id, _sid, data in rows)

    with sqlite_that_keeps_old_bytes():
        with encrypted(KEY_A):
            output = run_command("encrypt_conversations", "--batch-size", "3")
            assert {sid: run(sdk_reads(DjangoSession(sid))) for sid in reads} == reads
        assert_marker_stored_nowhere()

    assert "16 items to do in 2 conversations" in output
    assert "Encrypted 3 of 16 items" in output and "Encrypted 16 of 16 items" in output
    assert "Encrypted 16 items in 2 conversations." in output
    after = message_rows()
    assert [(id_, sid) for id_, sid, _data in after] == [(id_, sid) for id_, sid, _data in rows]
    assert all(is_envelope(data) for _id, _sid, data in after)
    assert structure_rows() == structure
    # Batch 3 held items of both conversations: still one entry each, with its total.
    assert audit_entries("encrypt") == {"first": [{"items": 8}], "second": [{"items": 8}]}


def test_a_second_run_finds_nothing_left_and_changes_nothing():
    with encrypted():
        conversations.append_items(session_id="done", items=plain_items("w", 4))
    with encrypted(KEY_A):
        run_command("encrypt_conversations")
        rows = message_rows()

        output = run_command("encrypt_conversations")

    assert "Nothing to encrypt: every item is already encrypted." in output
    assert message_rows() == rows
    assert audit_entries("encrypt") == {"done": [{"items": 4}]}


def test_encrypt_conversations_with_session_leaves_the_others_as_they_are():
    with encrypted():
        conversations.append_items(session_id="chosen", items=plain_items("a", 3))
        conversations.append_items(session_id="other", items=plain_items("b", 3))
    other = message_rows("other")

    with encrypted(KEY_A):
        output = run_command("encrypt_conversations", "--session", "chosen")

    assert "Encrypted 3 items in 1 conversation." in output
    assert all(is_envelope(data) for _id, _sid, data in message_rows("chosen"))
    assert message_rows("other") == other


def test_an_unknown_session_is_an_error_and_changes_nothing():
    with encrypted():
        conversations.append_items(session_id="here", items=plain_items("a", 2))
    rows = message_rows()

    with encrypted(KEY_A), pytest.raises(CommandError, match="Conversation 'missing' does not"):
        run_command("encrypt_conversations", "--session", "here", "--session", "missing")

    assert message_rows() == rows


@pytest.mark.parametrize("command", COMMANDS)
def test_without_keys_the_commands_stop_naming_the_setting(command):
    with encrypted():
        conversations.append_items(session_id="plain", items=plain_items("a", 2))
        rows = message_rows()
        with pytest.raises(CommandError, match="CONVSTORE_ENCRYPTION_KEYS is not set"):
            run_command(command)
    assert message_rows() == rows


# --- rotate_encryption_key -------------------------------------------------------


def backdate_tokens(session_id: str, seconds: int) -> None:
    """Seal the conversation's items again as if they had been written `seconds` ago."""
    fernet = encryption.conversation_fernet(session_id)
    for message_id, _sid, data in message_rows(session_id):
        old = fernet.encrypt_at_time(fernet.decrypt(payload(data)), int(time.time()) - seconds)
        envelope = encryption.envelope_text(old.decode())
        AgentMessage.objects.filter(pk=message_id).update(message_data=envelope)


def token_times(session_id: str) -> list[int]:
    return [encryption.token_time(session_id, data) for _id, _sid, data in message_rows(session_id)]


def test_rotation_moves_every_item_to_the_newest_key_keeping_its_time_and_place():
    with encrypted(KEY_B):
        run(branched_conversation(DjangoSession("older")))
        backdate_tokens("older", 3600)
    with encrypted(KEY_A):
        conversations.append_items(session_id="newer", items=plain_items("n", 3))
    newer = message_rows("newer")
    structure = structure_rows()

    with encrypted(KEY_A, KEY_B):
        reads = run(sdk_reads(DjangoSession("older")))
        times = token_times("older")
        output = run_command("rotate_encryption_key", "--batch-size", "3")
        assert token_times("older") == times

    assert "8 items to do in 1 conversation" in output
    assert "Re-encrypted 8 items in 1 conversation." in output
    assert "the other keys can now be removed" in output
    assert message_rows("newer") == newer  # under the newest key already: byte for byte
    assert structure_rows() == structure
    assert times[0] < time.time() - 3000
    with encrypted(KEY_A):
        alone = encryption.newest_fernet("older")
        assert all(alone.decrypt(payload(data)) for _id, _sid, data in message_rows("older"))
        assert run(sdk_reads(DjangoSession("older"))) == reads
        assert "Nothing to re-encrypt" in run_command("rotate_encryption_key")
    with encrypted(KEY_B), pytest.raises(InvalidToken):
        encryption.newest_fernet("older").decrypt(payload(message_rows("older")[0][2]))
    assert audit_entries("rekey") == {"older": [{"items": 8}]}


def test_rotation_leaves_plaintext_items_and_says_to_encrypt_them():
    with encrypted():
        conversations.append_items(session_id="plain", items=plain_items("p", 2))
    rows = message_rows()

    with encrypted(KEY_A, KEY_B):
        output = run_command("rotate_encryption_key")

    assert "Nothing to re-encrypt" in output
    assert "2 items stored as plaintext, written before keys were set" in output
    assert message_rows() == rows


def test_an_item_under_a_key_not_configured_stops_rotation_and_its_batch_stays_unchanged():
    with encrypted(KEY_B):
        conversations.append_items(session_id="early", items=plain_items("e", 4))
    with encrypted(KEY_C):
        conversations.append_items(session_id="locked", items=plain_items("l", 2))
    with encrypted(KEY_B):
        conversations.append_items(session_id="late", items=plain_items("t", 2))
    before = message_rows()

    with encrypted(KEY_A, KEY_B):
        with pytest.raises(CommandError) as error:
            run_command("rotate_encryption_key", "--batch-size", "3")
        # Batch 1 (early's items 1-3) is done; batch 2 (early's 4th, locked's two) is not.
        after = message_rows()
        assert after[3:] == before[3:]
        assert [encryption.open_message(sid, data) for _id, sid, data in after[:3]] == (
            plain_items("e", 4)[:3]
        )
    message = str(error.value)
    assert "Conversation 'locked' holds an item encrypted with a key" in message
    assert "3 items were done before it; run again once the key is set." in message
    with encrypted(KEY_A):
        assert all(encryption.needs_rekeying("early", data) is False for _i, _s, data in after[:3])
    assert audit_entries("rekey") == {"early": [{"items": 3}]}

    with encrypted(KEY_A, KEY_B, KEY_C):
        output = run_command("rotate_encryption_key", "--batch-size", "3")
    assert "Re-encrypted 5 items in 3 conversations." in output


# --- stopped halfway, agents writing meanwhile -----------------------------------


def database_url_for_subprocess() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host = f"{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return f"postgres://{host}/{settings['NAME']}"


def start_command(*args: str, keys: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SECRET_KEY": "tests",
        "DATABASE_URL": database_url_for_subprocess(),
        "CONVSTORE_ENCRYPTION_KEYS": keys,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def kill_after_first_batch(process: subprocess.Popen) -> list[str]:
    """The lines the command printed up to its first progress line; then it is killed."""
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Encrypted ") and " of " in line:
                break
        process.kill()
        process.wait(timeout=30)
    finally:
        watchdog.cancel()
        process.stdout.close()
    return lines


def test_a_run_killed_halfway_is_finished_by_the_next_one():
    writers = {f"conv-{n}": plain_items(f"w{n}", 60) for n in range(4)}
    with encrypted():
        for session_id, items in writers.items():
            conversations.append_items(session_id=session_id, items=items)
    connection.close()  # the subprocess writes to the same file or database

    lines = kill_after_first_batch(
        start_command("encrypt_conversations", "--batch-size", "2", keys=KEY_A)
    )

    assert lines[0] == "240 items to do in 4 conversations\n"
    assert lines[-1].startswith("Encrypted ")
    done = sum(is_envelope(data) for _id, _sid, data in message_rows())
    assert 2 <= done < 240 and done % 2 == 0  # killed halfway: whole batches only
    entries = audit_entries("encrypt").values()
    assert all(len(details) == 1 for details in entries)
    assert sum(details[0]["items"] for details in entries) == done
    with sqlite_that_keeps_old_bytes():
        with encrypted(KEY_A):
            output = run_command("encrypt_conversations")
            for session_id, items in writers.items():
                assert run(DjangoSession(session_id).get_items()) == items
        assert_marker_stored_nowhere()
    assert f"{240 - done} items to do in" in output
    assert f"Encrypted {240 - done} items in" in output
    assert all(is_envelope(data) for _id, _sid, data in message_rows())


class PacedOutput(io.StringIO):
    """The command's output; after each progress line it waits for the agent's next
    append, so appends land between (and during) all the batches."""

    def __init__(self, appended: threading.Semaphore):
        super().__init__()
        self.appended = appended

    def write(self, text: str) -> int:
        if text.startswith("Encrypted ") and " of " in text:
            self.appended.acquire(timeout=10)
        return super().write(text)


def test_items_appended_while_the_command_runs_are_all_kept_in_order():
    with encrypted():
        conversations.append_items(session_id="busy", items=plain_items("old", 80))
        conversations.append_items(session_id="quiet", items=plain_items("q", 20))
    before = run(DjangoSession("busy").get_items())
    appended: list[dict] = []
    one_more = threading.Semaphore(0)
    finished = threading.Event()
    errors: list[BaseException] = []

    def command():
        try:
            call_command("encrypt_conversations", "--batch-size", "2", stdout=PacedOutput(one_more))
        except BaseException as exc:
            errors.append(exc)
        finally:
            finished.set()
            connections.close_all()

    async def agent():
        session = DjangoSession("busy")
        try:
            turn = 0
            while not finished.is_set():
                items = [
                    {"role": "user", "content": f"new {turn}"},
                    {"role": "assistant", "content": f"reply {turn}"},
                ]
                await session.add_items(items)
                appended.extend(items)
                one_more.release()
                turn += 1
        finally:
            await sync_to_async(connections.close_all)()

    with encrypted(KEY_A):
        threads = [
            threading.Thread(target=command),
            threading.Thread(target=lambda: asyncio.run(agent())),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a thread hung"
        assert errors == []
        assert run(DjangoSession("busy").get_items()) == before + appended

    assert len(appended) >= 2 * 50  # at least one append for each of the 50 batches
    sequence = MessageStructure.objects.filter(session_id="busy").order_by("sequence_number")
    numbers = list(sequence.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, 80 + len(appended) + 1))
    assert all(is_envelope(data) for _id, _sid, data in message_rows())


# --- old copies of rewritten rows ------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="VACUUM FULL is PostgreSQL's; on SQLite secure_delete zeroes the old copies",
)
def test_vacuum_full_rewrites_the_messages_table_on_postgresql():
    with encrypted():
        conversations.append_items(session_id="plain", items=plain_items("a", 3))

    def table_file() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_filenode('agent_messages')")
            return cursor.fetchone()[0]

    before = table_file()
    with encrypted(KEY_A):
        output = run_command("encrypt_conversations")
        assert "run again with --vacuum-full" in output
        assert table_file() == before
        output = run_command("encrypt_conversations", "--vacuum-full")
    assert "VACUUM FULL agent_messages removed the old row versions" in output
    assert table_file() != before


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="the refusal is SQLite's: on PostgreSQL --vacuum-full runs (the test above)",
)
def test_vacuum_full_is_refused_on_sqlite():
    with encrypted(KEY_A), pytest.raises(CommandError, match="--vacuum-full is for PostgreSQL"):
        run_command("encrypt_conversations", "--vacuum-full")
