"""Items encrypted at rest in the SDK's own EncryptedSession envelope.

Run against the SDK's real EncryptedSession: over SQLiteSession on the SQLite
test database file and over SQLAlchemySession on the PostgreSQL one, both of
which read and write our agent_messages table.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agents.extensions.memory import EncryptedSession
from agents.memory import SQLiteSession
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from convstore import conversations, encryption
from convstore.items import item_text
from convstore.models import AgentMessage, MessageStructure
from convstore.session import DjangoSession
from tests.sdk_files import run, run_turn, text_turn, tool_turn

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
RAW_KEY = "a-high-entropy-secret-from-the-vault-48-chars.."
MARKER = "zebra-7731"


def encrypted(*keys: str):
    return override_settings(CONVSTORE_ENCRYPTION_KEYS=list(keys))


def stored(session_id: str) -> list[dict]:
    rows = AgentMessage.objects.filter(session_id=session_id).order_by("id")
    return [json.loads(data) for data in rows.values_list("message_data", flat=True)]


async def two_turns(session) -> list:
    await run_turn(session, f"Weather in {MARKER} city?", tool_turn(MARKER))
    await run_turn(session, "Thanks!", text_turn(f"You are welcome, {MARKER}."))
    return await session.get_items()


# --- the setting ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "keys"),
    [("", []), (KEY, [KEY]), (f"{KEY}, {OTHER_KEY}", [KEY, OTHER_KEY]), (RAW_KEY, [RAW_KEY])],
)
def test_the_setting_takes_fernet_keys_or_long_random_strings_newest_first(value, keys):
    assert encryption.parse_master_keys(value) == keys


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"{KEY},", "key 2 of 2 is empty"),
        ("short", "key 1 of 1 is neither a Fernet key"),
        (f"{KEY},,{OTHER_KEY}", "key 2 of 3 is empty"),
    ],
)
def test_a_malformed_setting_names_the_variable(value, message):
    with pytest.raises(ImproperlyConfigured, match=f"CONVSTORE_ENCRYPTION_KEYS: {message}"):
        encryption.parse_master_keys(value)


def test_a_malformed_setting_stops_the_server_from_starting():
    env = {**os.environ, "DEBUG": "1", "CONVSTORE_ENCRYPTION_KEYS": "too-short"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CONVSTORE_ENCRYPTION_KEYS: key 1 of 1 is neither a Fernet key" in result.stderr
    assert "Traceback" not in result.stderr


# --- what is stored ------------------------------------------------------------


def test_items_are_stored_as_the_sdks_envelope_and_read_back():
    with encrypted(KEY):
        items = run(two_turns(DjangoSession("enc")))
        assert run(DjangoSession("enc").get_items()) == items

    rows = stored("enc")
    assert len(rows) == len(items) == 6
    assert all(set(row) == {"__enc__", "v", "kid", "payload"} for row in rows)
    assert {(row["__enc__"], row["v"], row["kid"]) for row in rows} == {(1, 1, "hkdf-v1")}
    structure = MessageStructure.objects.filter(session_id="enc").order_by("sequence_number")
    assert list(structure.values_list("message_type", "tool_name", "user_turn_number")) == [
        ("user", None, 1),
        ("function_call", "get_weather", 1),
        ("function_call_output", None, 1),
        ("assistant", None, 1),
        ("user", None, 2),
        ("assistant", None, 2),
    ]


def test_no_text_of_the_conversation_is_stored_in_plaintext():
    reasoning = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": MARKER}],
    }
    with encrypted(KEY):
        session = DjangoSession("secret")
        run(two_turns(session))
        run(session.add_items([reasoning]))
        run(session.create_branch_from_turn(2, "retry"))
        run(run_turn(session, f"Again, {MARKER}?", text_turn(f"Yes, {MARKER}.")))
        message = AgentMessage.objects.filter(session_id="secret").earliest("id")
        conversations.edit_message(
            message_id=message.pk, item={"role": "user", "content": f"Edited {MARKER}"}
        )
        newest = run(DjangoSession("secret").get_items(limit=1, branch_id="retry"))[0]
        assert item_text(newest) == f"Yes, {MARKER}."

    assert_marker_stored_nowhere()


def assert_marker_stored_nowhere():
    if connection.vendor == "sqlite":
        connection.close()  # flushes nothing: WAL frames stay in the -wal file
        database = Path(
            connection.settings_dict["TEST"]["NAME"] or connection.settings_dict["NAME"]
        )
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert MARKER.encode() not in path.read_bytes(), path.name
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = [name for (name,) in cursor.fetchall()]
        for table in tables:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', [f"%{MARKER}%"]
            )
            assert cursor.fetchone()[0] == 0, table


# --- the SDK's EncryptedSession on our tables ------------------------------------


def sqlite_database_file() -> str:
    return connection.settings_dict["NAME"]


async def with_sdk_session(session_id: str, work, *, key: str = KEY, ttl: int = 3600):
    """work(session): the SDK's EncryptedSession over its own session on our database."""
    if connection.vendor == "sqlite":
        underlying = SQLiteSession(session_id, sqlite_database_file())
        try:
            return await work(EncryptedSession(session_id, underlying, key, ttl=ttl))
        finally:
            underlying.close()
    from agents.extensions.memory import SQLAlchemySession
    from sqlalchemy.ext.asyncio import create_async_engine

    from tests.test_coexistence import sqlalchemy_url

    engine = create_async_engine(sqlalchemy_url())
    try:
        underlying = SQLAlchemySession(session_id, engine=engine, create_tables=False)
        return await work(EncryptedSession(session_id, underlying, key, ttl=ttl))
    finally:
        await engine.dispose()


def test_the_sdks_encrypted_session_reads_what_django_session_wrote():
    with encrypted(KEY):
        written = run(two_turns(DjangoSession("shared")))

    assert run(with_sdk_session("shared", lambda sdk: sdk.get_items())) == written


def test_django_session_reads_and_continues_what_the_sdks_encrypted_session_wrote():
    written = run(with_sdk_session("shared", two_turns))

    with encrypted(KEY):
        session = DjangoSession("shared")
        assert run(session.get_items()) == written
        turns = run(session.get_conversation_turns())
        assert [turn["content"] for turn in turns] == [f"Weather in {MARKER} city?", "Thanks!"]
        assert run(session.get_tool_usage()) == [("get_weather", 1, 1)]
        run(run_turn(session, "And tomorrow?", text_turn("Rain.")))
        items = run(session.get_items())

    assert run(with_sdk_session("shared", lambda sdk: sdk.get_items())) == items
    assert all(encryption.is_envelope(row) for row in stored("shared"))


# --- keys: rotation, missing, wrong ----------------------------------------------


def test_items_under_an_older_key_open_and_new_ones_take_the_newest():
    with encrypted(OTHER_KEY):
        first = run(two_turns(DjangoSession("rotated")))
    with encrypted(KEY, OTHER_KEY):
        session = DjangoSession("rotated")
        assert run(session.get_items()) == first
        run(session.add_items([{"role": "user", "content": "under the new key"}]))
    with encrypted(KEY):
        newest = stored("rotated")[-1]
        assert encryption.open_message("rotated", json.dumps(newest))["content"] == (
            "under the new key"
        )


@pytest.mark.parametrize("keys", [[], [OTHER_KEY]], ids=["no key", "another key"])
def test_a_key_this_server_lacks_is_a_clear_error_for_agents_and_a_placeholder_on_pages(
    keys, admin_user
):
    with encrypted(KEY):
        run(two_turns(DjangoSession("locked")))
    before = stored("locked")

    with encrypted(*keys):
        with pytest.raises(encryption.UnreadableItem, match="key this server does not have"):
            run(DjangoSession("locked").get_items())
        with pytest.raises(encryption.UnreadableItem):
            run(DjangoSession("locked").pop_item())
        client = Client()
        client.force_login(admin_user)
        page = client.get(reverse("analytics:conversation", args=["locked"]))
        assert page.status_code == 200
        assert "encrypted with a key this server does not have" in page.content.decode()
        assert "get_weather" in page.content.decode()

    assert stored("locked") == before


# --- TTL -------------------------------------------------------------------------


def test_ttl_leaves_out_items_sealed_longer_ago_as_the_sdk_does():
    with encrypted(KEY):
        run(DjangoSession("ttl").add_items([{"role": "user", "content": "old"}]))
        old = AgentMessage.objects.get(session_id="ttl")
        fernet = encryption.conversation_fernet("ttl")
        token = fernet.encrypt_at_time(b'{"role":"user","content":"old"}', int(time.time()) - 120)
        envelope = {"__enc__": 1, "v": 1, "kid": "hkdf-v1", "payload": token.decode()}
        AgentMessage.objects.filter(pk=old.pk).update(message_data=json.dumps(envelope))
        run(DjangoSession("ttl").add_items([{"role": "user", "content": "new"}]))

        assert run(DjangoSession("ttl", ttl=60).get_items()) == [{"role": "user", "content": "new"}]
        assert len(run(DjangoSession("ttl").get_items())) == 2
    sdk_items = run(with_sdk_session("ttl", lambda sdk: sdk.get_items(), ttl=60))
    assert sdk_items == [{"role": "user", "content": "new"}]


@pytest.mark.parametrize("ttl", [0, -5, 1.5, "60", True])
def test_a_ttl_that_is_not_a_positive_number_of_seconds_is_refused(ttl):
    with pytest.raises(ValueError, match="ttl must be a positive number of seconds"):
        DjangoSession("x", ttl=ttl)


def test_the_structured_reads_open_encrypted_items():
    with encrypted(KEY):
        session = DjangoSession("reads")
        run(two_turns(session))
        found = run(session.find_turns_by_content(MARKER))
        branch = run(session.create_branch_from_content("Thanks", "from-thanks"))
        by_turns = run(DjangoSession("reads").get_conversation_by_turns())

    assert [(turn["turn"], turn["content"]) for turn in found] == [
        (1, f"Weather in {MARKER} city?")
    ]
    assert branch == "from-thanks"
    assert sorted(by_turns) == [1, 2]
    assert [row["type"] for row in by_turns[1]] == [
        "user",
        "function_call",
        "function_call_output",
        "assistant",
    ]


def test_the_list_says_text_search_cannot_look_inside_encrypted_items(admin_user):
    client = Client()
    client.force_login(admin_user)
    url = reverse("analytics:conversations")
    assert "Messages are encrypted" not in client.get(url).content.decode()
    with encrypted(KEY):
        run(two_turns(DjangoSession("searched")))
        page = client.get(url, {"q": MARKER}).content.decode()
        by_id = client.get(url, {"q": "searched"}).content.decode()
    assert "Messages are encrypted: search finds ids and titles" in page
    assert "No conversations match." in page
    assert reverse("analytics:conversation", args=["searched"]) in by_id


def test_no_text_is_stored_after_the_dashboard_and_admin_read_search_export_and_edit(admin_user):
    client = Client()
    client.force_login(admin_user)
    with encrypted(KEY):
        session = DjangoSession("browsed")
        run(two_turns(session))
        run(session.create_branch_from_turn(2, "retry"))
        conversation = reverse("analytics:conversation", args=["browsed"])
        assert MARKER in client.get(conversation).content.decode()
        client.get(reverse("analytics:conversations"), {"q": MARKER})
        for name in ("analytics:export_json", "analytics:export_csv", "analytics:compare"):
            assert MARKER in client.get(reverse(name, args=["browsed"])).content.decode()
        message = AgentMessage.objects.filter(session_id="browsed").earliest("id")
        edit_url = reverse("admin:convstore_agentmessage_change", args=[message.pk])
        assert MARKER in client.get(edit_url).content.decode()
        edited = json.dumps({"role": "user", "content": f"Edited in the admin, {MARKER}"})
        response = client.post(edit_url, {"message_data": edited, "_save": "Save"})
        assert response.status_code == 302
        assert run(DjangoSession("browsed").get_items())[0]["content"].startswith("Edited")

    assert_marker_stored_nowhere()
