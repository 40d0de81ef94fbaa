"""import_agents_db and export_agents_db with items encrypted at rest.

The files are written and read by the real Agents SDK: its EncryptedSession over
SQLiteSession (no structure) and over AdvancedSQLiteSession (structure rows the
SDK records over envelopes it cannot read), driven by the real Runner.
"""

import asyncio
import json
import os
import sqlite3
import time
from io import StringIO
from pathlib import Path

import pytest
from agents.extensions.memory import EncryptedSession
from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession
from agents.memory import SQLiteSession
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from convstore import conversations, encryption, transfer
from convstore.models import AgentMessage, MessageStructure
from convstore.session import DjangoSession
from tests import sdk_files
from tests.sdk_files import read_file, read_ours, run, run_turn, text_turn, tool_turn
from tests.test_transfer import database_rows

pytestmark = pytest.mark.django_db(transaction=True)

KEY = Fernet.generate_key().decode()
FILE_KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()
LONG_TTL = 30 * 24 * 3600


def encrypted(*keys: str):
    return override_settings(CONVSTORE_ENCRYPTION_KEYS=list(keys))


def command(name: str, *arguments: str) -> str:
    out = StringIO()
    call_command(name, *arguments, stdout=out)
    return out.getvalue()


def file_messages(path: Path) -> list[dict]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT message_data FROM agent_messages ORDER BY id").fetchall()
    connection.close()
    return [json.loads(data) for (data,) in rows]


def file_structure(path: Path, session_id: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT branch_id, message_type, user_turn_number, tool_name FROM message_structure"
            " WHERE session_id = ? ORDER BY sequence_number",
            (session_id,),
        ).fetchall()
    connection.close()
    return rows


def stored_structure(session_id: str) -> list[tuple]:
    rows = MessageStructure.objects.filter(session_id=session_id).order_by("sequence_number")
    return list(rows.values_list("branch_id", "message_type", "user_turn_number", "tool_name"))


def stored_envelopes(session_id: str) -> list[dict]:
    rows = AgentMessage.objects.filter(session_id=session_id).order_by("id")
    return [json.loads(data) for data in rows.values_list("message_data", flat=True)]


async def two_turns(session) -> list:
    await run_turn(session, "Weather in Paris?", tool_turn("Paris"))
    await run_turn(session, "Thanks!", text_turn("You are welcome."))
    return await session.get_items()


def sdk_file(path: Path, session_id: str, key: str, *, advanced: bool) -> list:
    """Two turns through the SDK's EncryptedSession over its own SQLite session; the items."""

    async def write():
        if advanced:
            underlying = AdvancedSQLiteSession(
                session_id=session_id, db_path=path, create_tables=True
            )
        else:
            underlying = SQLiteSession(session_id, path)
        try:
            return await two_turns(EncryptedSession(session_id, underlying, key, ttl=LONG_TTL))
        finally:
            underlying.close()

    return asyncio.run(write())


def sdk_reads_encrypted(path: Path, session_id: str, key: str, *, advanced: bool):
    """What the SDK's EncryptedSession reads on the file: items, and with
    AdvancedSQLiteSession the structure its methods report, branch by branch."""

    async def read():
        if not advanced:
            underlying = SQLiteSession(session_id, path)
            try:
                return await EncryptedSession(session_id, underlying, key, ttl=LONG_TTL).get_items()
            finally:
                underlying.close()
        underlying = AdvancedSQLiteSession(session_id=session_id, db_path=path)
        session = EncryptedSession(session_id, underlying, key, ttl=LONG_TTL)
        try:
            reads = {}
            for branch in ("main", "alt"):
                await session.switch_to_branch(branch)
                reads[branch] = {
                    "items": await session.get_items(),
                    "tools": await session.get_tool_usage(),
                    "turn_usage": await session.get_turn_usage(),
                }
            return reads
        finally:
            underlying.close()

    return asyncio.run(read())


STRUCTURE_OF_TWO_TURNS = [
    ("main", "user", 1, None),
    ("main", "function_call", 1, "get_weather"),
    ("main", "function_call_output", 1, None),
    ("main", "assistant", 1, None),
    ("main", "user", 2, None),
    ("main", "assistant", 2, None),
]


# --- import ------------------------------------------------------------------


@pytest.mark.parametrize("advanced", [False, True], ids=["SQLiteSession", "AdvancedSQLiteSession"])
def test_an_encrypted_sdk_file_imports_with_structure_derived_from_its_items(tmp_path, advanced):
    path = tmp_path / "encrypted.sqlite3"
    written = sdk_file(path, "enc", KEY, advanced=advanced)
    if advanced:
        # What the SDK records over envelopes it cannot read: no kinds, no turns.
        assert {row[1:] for row in file_structure(path, "enc")} == {("other", 0, None)}

    with encrypted(KEY):
        output = command("import_agents_db", str(path))
        session = DjangoSession("enc")
        assert run(session.get_items()) == written
        turns = run(session.get_conversation_turns())
        tools = run(session.get_tool_usage())

    assert "Imported 'enc': 6 messages, 1 branch" in output
    assert [(turn["turn"], turn["content"]) for turn in turns] == [
        (1, "Weather in Paris?"),
        (2, "Thanks!"),
    ]
    assert tools == [("get_weather", 1, 1)]
    assert stored_structure("enc") == STRUCTURE_OF_TWO_TURNS
    assert all(encryption.is_envelope(row) for row in stored_envelopes("enc"))


def test_usage_the_sdk_recorded_over_envelopes_is_imported_as_the_file_has_it(tmp_path):
    path = tmp_path / "encrypted.sqlite3"
    sdk_file(path, "enc", KEY, advanced=True)

    with encrypted(KEY):
        command("import_agents_db", str(path))
        usage = run(DjangoSession("enc").get_turn_usage())

    # The SDK files every turn's usage under turn 0, each replacing the one before.
    assert [(row["user_turn_number"], row["input_tokens"]) for row in usage] == [(0, 80)]


def test_a_file_under_another_key_imports_with_encryption_key_sealed_under_the_servers(
    tmp_path,
):
    path = tmp_path / "encrypted.sqlite3"
    written = sdk_file(path, "enc", FILE_KEY, advanced=False)

    with encrypted(KEY):
        command("import_agents_db", str(path), f"--encryption-key={FILE_KEY}")
        assert run(DjangoSession("enc").get_items()) == written
    with encrypted(FILE_KEY), pytest.raises(encryption.UnreadableItem):
        run(DjangoSession("enc").get_items())


def reseal_first_item(path: Path, session_id: str, key: str, at: int) -> None:
    """The file's first envelope sealed again as if at time at (the SDK seals at now)."""
    fernet = encryption.conversation_fernet(session_id, keys=[key])
    with sqlite3.connect(path) as connection:
        row_id, data = connection.execute(
            "SELECT id, message_data FROM agent_messages ORDER BY id LIMIT 1"
        ).fetchone()
        plaintext = fernet.decrypt(json.loads(data)["payload"].encode())
        token = fernet.encrypt_at_time(plaintext, at).decode()
        envelope = {"__enc__": 1, "v": 1, "kid": "hkdf-v1", "payload": token}
        connection.execute(
            "UPDATE agent_messages SET message_data = ? WHERE id = ?",
            (json.dumps(envelope), row_id),
        )
    connection.close()


def test_imported_items_keep_the_time_they_were_sealed_so_a_ttl_counts_as_before(tmp_path):
    path = tmp_path / "encrypted.sqlite3"
    written = sdk_file(path, "enc", FILE_KEY, advanced=False)
    an_hour_ago = int(time.time()) - 3600
    reseal_first_item(path, "enc", FILE_KEY, an_hour_ago)

    with encrypted(KEY):
        command("import_agents_db", str(path), f"--encryption-key={FILE_KEY}")
        first = AgentMessage.objects.filter(session_id="enc").earliest("id")
        assert encryption.token_time("enc", first.message_data) == an_hour_ago
        assert run(DjangoSession("enc", ttl=600).get_items()) == written[1:]


def test_an_encrypted_file_imported_again_imports_nothing(tmp_path):
    path = tmp_path / "encrypted.sqlite3"
    sdk_file(path, "enc", FILE_KEY, advanced=True)
    with encrypted(KEY):
        command("import_agents_db", str(path), f"--encryption-key={FILE_KEY}")
        rows = database_rows()

        output = command("import_agents_db", str(path), f"--encryption-key={FILE_KEY}")

        assert "0 conversations imported, 1 already here." in output
        assert database_rows() == rows


@pytest.mark.parametrize("arguments", [[], [f"--encryption-key={KEY}"]], ids=["", "with key"])
def test_a_server_without_keys_refuses_an_encrypted_file(tmp_path, arguments):
    path = tmp_path / "encrypted.sqlite3"
    sdk_file(path, "enc", KEY, advanced=False)
    rows = database_rows()

    with encrypted(), pytest.raises(CommandError) as refused:
        command("import_agents_db", str(path), *arguments)

    assert str(refused.value) == (
        "Nothing imported: encrypted.sqlite3 holds encrypted items (conversation 'enc'), and"
        " this server would store them in plaintext: set CONVSTORE_ENCRYPTION_KEYS first"
    )
    assert database_rows() == rows


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([f"--encryption-key={OLD_KEY}"], "Conversation 'enc' holds an item that the given key"),
        ([], "Conversation 'enc' holds an item that no key of CONVSTORE_ENCRYPTION_KEYS opens"),
    ],
    ids=["wrong --encryption-key", "no server key"],
)
def test_an_envelope_no_key_opens_is_refused_naming_the_conversation(tmp_path, arguments, message):
    path = tmp_path / "encrypted.sqlite3"
    sdk_file(path, "enc", FILE_KEY, advanced=True)
    sdk_files.write_plain_file(path)  # a plaintext conversation beside it: not imported either
    rows = database_rows()

    with encrypted(KEY), pytest.raises(CommandError, match=message):
        command("import_agents_db", str(path), *arguments)

    assert database_rows() == rows


def test_a_malformed_encryption_key_is_refused():
    with pytest.raises(CommandError, match="--encryption-key is neither a Fernet key"):
        command("import_agents_db", "unused.sqlite3", "--encryption-key", "short")


# --- export ------------------------------------------------------------------


def write_our_conversation(session_id: str = "ours") -> None:
    """Two turns on main, a branch 'alt' from turn 2 with a turn of its own."""

    async def write():
        session = DjangoSession(session_id)
        await two_turns(session)
        await session.create_branch_from_turn(2, "alt")
        await run_turn(session, "What about Oslo?", tool_turn("Oslo"))
        await session.switch_to_branch("main")

    run(write())


async def our_branches(session_id: str) -> dict:
    session = DjangoSession(session_id)
    reads = {}
    for branch in ("main", "alt"):
        reads[branch] = {
            "items": await session.get_items(branch_id=branch),
            "tools": await session.get_tool_usage(branch_id=branch),
            "turn_usage": await session.get_turn_usage(branch_id=branch),
        }
    return reads


@pytest.mark.parametrize("advanced", [False, True], ids=["SQLiteSession", "AdvancedSQLiteSession"])
def test_an_export_with_keys_set_reads_in_the_sdks_encrypted_session(tmp_path, advanced):
    path = tmp_path / "export.sqlite3"
    with encrypted(KEY):
        write_our_conversation()
        ours = run(our_branches("ours"))
        command("export_agents_db", str(path))

    assert all(encryption.is_envelope(item) for item in file_messages(path))
    reads = sdk_reads_encrypted(path, "ours", KEY, advanced=advanced)
    if advanced:
        assert reads == ours
        assert reads["alt"]["tools"] == [("get_weather", 1, 1), ("get_weather", 1, 2)]
    else:
        # SQLiteSession reads every message of the file in order, as main.
        assert reads == ours["main"]["items"] + ours["alt"]["items"][-4:]


def test_an_export_seals_every_item_under_the_newest_key(tmp_path):
    path = tmp_path / "export.sqlite3"
    before = {"role": "user", "content": "written before keys were set"}
    run(DjangoSession("mixed").add_items([before]))
    with encrypted(OLD_KEY):
        run(DjangoSession("mixed").add_items([{"role": "user", "content": "under the old key"}]))
    with encrypted(KEY, OLD_KEY):
        run(DjangoSession("mixed").add_items([{"role": "user", "content": "under the new key"}]))
        items = run(DjangoSession("mixed").get_items())
        command("export_agents_db", str(path))

    assert len(items) == 3
    assert sdk_reads_encrypted(path, "mixed", KEY, advanced=False) == items


def test_an_export_with_decrypt_reads_in_advanced_sqlite_session_as_here(tmp_path):
    path = tmp_path / "export.sqlite3"
    with encrypted(KEY):
        write_our_conversation()
        ours = read_ours("ours")
        output = command("export_agents_db", str(path), "--decrypt")

    assert "1 conversation written" in output
    assert not any(encryption.is_envelope(item) for item in file_messages(path))
    assert read_file(path, "ours") == ours
    assert ours["alt"]["tools"] == [("get_weather", 1, 1), ("get_weather", 1, 2)]


def test_an_export_with_decrypt_of_an_item_no_key_opens_is_refused_and_writes_no_file(tmp_path):
    with encrypted(OLD_KEY):
        write_our_conversation("locked")
    with encrypted(KEY):
        write_our_conversation("readable")
    path = tmp_path / "export.sqlite3"

    with encrypted(KEY), pytest.raises(CommandError) as refused:
        command("export_agents_db", str(path), "--decrypt")

    assert str(refused.value).startswith(
        "Conversation 'locked' holds an item encrypted with a key this server does not have"
    )
    assert str(refused.value).endswith("; nothing was written")
    assert os.listdir(tmp_path) == []


def test_a_download_is_encrypted_unless_asked_to_decrypt(tmp_path):
    with encrypted(KEY):
        write_our_conversation()
        ours = read_ours("ours")
        encrypted_path = tmp_path / "encrypted.sqlite3"
        encrypted_path.write_bytes(transfer.export_conversation_sqlite("ours"))
        plain_path = tmp_path / "plain.sqlite3"
        plain_path.write_bytes(transfer.export_conversation_sqlite("ours", decrypt=True))

    assert all(encryption.is_envelope(item) for item in file_messages(encrypted_path))
    assert file_structure(encrypted_path, "ours") == file_structure(plain_path, "ours")
    assert read_file(plain_path, "ours") == ours


def test_an_encrypted_export_imports_back_under_another_server_key(tmp_path):
    path = tmp_path / "export.sqlite3"
    with encrypted(FILE_KEY):
        write_our_conversation()
        ours = read_ours("ours")
        command("export_agents_db", str(path))
    conversations.trash(session_id="ours")
    conversations.purge(session_id="ours")

    with encrypted(KEY):
        command("import_agents_db", str(path), f"--encryption-key={FILE_KEY}")
        assert read_ours("ours") == ours
