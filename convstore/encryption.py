"""Items encrypted at rest in the Agents SDK's own EncryptedSession envelope.

With CONVSTORE_ENCRYPTION_KEYS set (master keys, newest first), every item is
stored in agent_messages.message_data as the JSON of the envelope the SDK's
EncryptedSession writes:

    {"__enc__": 1, "v": 1, "kid": "hkdf-v1", "payload": <Fernet token>}

Each conversation has its own key, derived from a master key as the SDK
derives it (HKDF-SHA256, salt = the session id, info
"agents.session-store.hkdf.v1"), so the SDK's EncryptedSession over a session
on our tables and DjangoSession read each other's items. New items are sealed
with the first master key; items under any of the keys open. The setting is
read on every call, not once at import.
"""

import base64
import binascii
import functools
import json
import time
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import items as sdk_items

SETTING = "CONVSTORE_ENCRYPTION_KEYS"
HKDF_INFO = b"agents.session-store.hkdf.v1"
ENVELOPE_KID = "hkdf-v1"
ENVELOPE_VERSION = 1
# A master key that is not a Fernet key is used as it is (as the SDK does);
# shorter strings than this are refused as too guessable to be a key.
MIN_RAW_KEY_LENGTH = 32


class UnreadableItem(ValueError):
    """An encrypted item that no configured key opens."""

    def __init__(self, session_id: str):
        super().__init__(
            f"Conversation '{session_id}' holds an item encrypted with a key this server"
            f" does not have (check {SETTING})"
        )
        self.session_id = session_id


def parse_master_keys(value: str, *, name: str = SETTING) -> list[str]:
    """The comma-separated master keys of an environment value, checked."""
    keys = [part.strip() for part in value.split(",")]
    if keys == [""]:
        return []
    for number, key in enumerate(keys, start=1):
        check_master_key(key, f"{name}: key {number} of {len(keys)}")
    return keys


def check_master_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key:
        raise ImproperlyConfigured(f"{what} is empty")
    if _fernet_key_bytes(key) is None and len(key) < MIN_RAW_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{what} is neither a Fernet key (Fernet.generate_key()) nor a random string"
            f" of at least {MIN_RAW_KEY_LENGTH} characters"
        )


def master_keys() -> tuple[str, ...]:
    keys = getattr(settings, SETTING, None) or []
    if isinstance(keys, str) or not isinstance(keys, list | tuple):
        raise ImproperlyConfigured(f"{SETTING} must be a list of keys, not {type(keys).__name__}")
    return _checked_keys(tuple(keys))


@functools.lru_cache(maxsize=16)
def _checked_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    # Cached: every item read asks for the keys.
    for number, key in enumerate(keys, start=1):
        check_master_key(key, f"{SETTING}: key {number} of {len(keys)}")
    return keys


def enabled() -> bool:
    return bool(master_keys())


def _fernet_key_bytes(key: str) -> bytes | None:
    try:
        decoded = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == 32 else None


@functools.lru_cache(maxsize=1024)
def _conversation_fernets(keys: tuple[str, ...], session_id: str) -> tuple[Fernet, ...]:
    """The conversation's keys, one per master key, newest first (the SDK's derivation)."""
    fernets = []
    for key in keys:
        master = _fernet_key_bytes(key) or key.encode()
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=session_id.encode(), info=HKDF_INFO
        ).derive(master)
        fernets.append(Fernet(base64.urlsafe_b64encode(derived)))
    return tuple(fernets)


@functools.lru_cache(maxsize=1024)
def _conversation_fernet(keys: tuple[str, ...], session_id: str) -> MultiFernet:
    return MultiFernet(list(_conversation_fernets(keys, session_id)))


def conversation_fernet(
    session_id: str, *, keys: Sequence[str] | None = None
) -> MultiFernet | None:
    """The conversation's keys from the configured master keys, or from those given."""
    keys = master_keys() if keys is None else tuple(keys)
    return _conversation_fernet(keys, session_id) if keys else None


def newest_fernet(session_id: str) -> Fernet | None:
    """The conversation's key under the newest master key alone: the one items are sealed with."""
    keys = master_keys()
    return _conversation_fernets(keys, session_id)[0] if keys else None


# --- envelopes -----------------------------------------------------------------


def is_envelope(item: Any) -> bool:
    """The SDK's test for an envelope."""
    return (
        isinstance(item, dict)
        and item.get("__enc__") == 1
        and "payload" in item
        and "kid" in item
        and "v" in item
    )


def _plaintext(item: dict) -> bytes:
    # As the SDK's EncryptedSession serialises an item before encrypting it.
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def envelope_text(token: str) -> str:
    """The envelope's JSON around a Fernet token, as seal writes it."""
    return json.dumps({"__enc__": 1, "v": ENVELOPE_VERSION, "kid": ENVELOPE_KID, "payload": token})


def seal(fernet: MultiFernet, item: dict, *, at: int | None = None) -> str:
    """The message_data of an item, encrypted: the envelope's JSON.

    at: the sealing time to record (seconds since the epoch), for an item
    sealed before elsewhere, so that a ttl counts from then; default now.
    """
    plaintext = _plaintext(item)
    token = fernet.encrypt(plaintext) if at is None else fernet.encrypt_at_time(plaintext, at)
    return envelope_text(token.decode())


def stored_texts(session_id: str, items: list[dict], encoded: list[str]) -> list[str]:
    """What message_data holds for each item: its JSON, or its envelope when keys are set."""
    fernet = conversation_fernet(session_id)
    if fernet is None:
        return encoded
    return [seal(fernet, item) for item in items]


def open_message(
    session_id: str, message_data: str, *, ttl: int | None = None, now: float | None = None
) -> dict | None:
    """The item a message row holds: decrypted if it is an envelope.

    None for a row that is not a JSON object (skipped, as in the SDK) and for
    an envelope older than ttl seconds (by its token's time, as the SDK's
    EncryptedSession(ttl=...)). UnreadableItem for an envelope no configured
    key opens. Plaintext items, written before keys were set, open as they are.
    """
    item = sdk_items.decode_item(message_data)
    if not is_envelope(item):
        return item
    fernet, token = _fernet_and_token(session_id, item)
    try:
        if ttl is not None and fernet.extract_timestamp(token) < (now or time.time()) - ttl:
            return None
        return sdk_items.decode_item(fernet.decrypt(token).decode())
    except InvalidToken:
        raise UnreadableItem(session_id) from None


def _fernet_and_token(
    session_id: str, envelope: dict, *, keys: Sequence[str] | None = None
) -> tuple[MultiFernet, bytes]:
    """What opening an envelope needs; UnreadableItem if there are no keys or no token."""
    fernet = conversation_fernet(session_id, keys=keys)
    token = envelope.get("payload")
    if fernet is None or not isinstance(token, str):
        raise UnreadableItem(session_id)
    return fernet, token.encode()


def token_time(session_id: str, message_data: str) -> int | None:
    """When an envelope was sealed (seconds since the epoch); None for plaintext."""
    item = sdk_items.decode_item(message_data)
    if not is_envelope(item):
        return None
    fernet, token = _fernet_and_token(session_id, item)
    try:
        return fernet.extract_timestamp(token)
    except InvalidToken:
        raise UnreadableItem(session_id) from None


def item_for_structure(session_id: str, message_data: str) -> dict | None:
    """The item whose kind, tool and turn a structure row records; None if no key opens it."""
    try:
        return open_message(session_id, message_data)
    except UnreadableItem:
        return None


def stored_text(session_id: str, message_data: str, *, sealed_at: int | None = None) -> str:
    """What to store for a message read from elsewhere (an SDK file): sealed when keys
    are set and it is not an envelope already (at sealed_at, when it was sealed before)."""
    fernet = conversation_fernet(session_id)
    item = sdk_items.decode_item(message_data)
    if fernet is None or item is None or is_envelope(item):
        return message_data
    return seal(fernet, item, at=sealed_at)


def open_envelope(session_id: str, message_data: str, *, keys: Sequence[str]) -> tuple[str, int]:
    """An envelope's item as JSON and when it was sealed, opened with the master keys
    given (an SDK file's key, say); UnreadableItem when none of them opens it."""
    item = sdk_items.decode_item(message_data)
    if not is_envelope(item):
        raise UnreadableItem(session_id)
    fernet, token = _fernet_and_token(session_id, item, keys=keys)
    try:
        return fernet.decrypt(token).decode(), fernet.extract_timestamp(token)
    except InvalidToken:
        raise UnreadableItem(session_id) from None


def exported_text(session_id: str, message_data: str, *, decrypt: bool = False) -> str:
    """What a file written for the SDK holds for a stored message.

    decrypt: the item in plaintext, as SQLiteSession stores it (UnreadableItem
    for an envelope no configured key opens). Otherwise, with keys set, the item
    sealed under the newest key, its sealing time kept: the SDK's
    EncryptedSession takes one key and skips plaintext and envelopes it cannot
    open, so every item this server can read is readable with that one key.
    Without keys, or for an envelope no key opens, the message as it is stored.
    """
    item = sdk_items.decode_item(message_data)
    if decrypt:
        if not is_envelope(item):
            return message_data
        return json.dumps(open_message(session_id, message_data))
    fernet = conversation_fernet(session_id)
    if fernet is None or not isinstance(item, dict):
        return message_data
    if not is_envelope(item):
        return seal(fernet, item)
    token = item["payload"]
    if not isinstance(token, str):
        return message_data
    try:
        return envelope_text(fernet.rotate(token.encode()).decode())
    except InvalidToken:
        return message_data


# --- changing the keys of stored items -------------------------------------------


def needs_sealing(message_data: str) -> bool:
    """Whether a stored message is a plaintext item that stored_text would seal."""
    item = sdk_items.decode_item(message_data)
    return item is not None and not is_envelope(item)


def needs_rekeying(session_id: str, message_data: str) -> bool:
    """Whether a stored envelope is under a key other than the newest (or under none)."""
    item = sdk_items.decode_item(message_data)
    if not is_envelope(item):
        return False
    newest = newest_fernet(session_id)
    token = item["payload"]
    if newest is None or not isinstance(token, str):
        return True
    try:
        newest.extract_timestamp(token.encode())  # checks the token's signature
    except InvalidToken:
        return True
    return False


def rekeyed_text(session_id: str, message_data: str) -> str:
    """A stored envelope re-encrypted under the newest key, keeping its token's time
    (MultiFernet.rotate), so a TTL still counts from when the item was first sealed.

    Unchanged for plaintext and for an envelope under the newest key already;
    UnreadableItem for one no configured key opens.
    """
    if not needs_rekeying(session_id, message_data):
        return message_data
    fernet, token = _fernet_and_token(session_id, sdk_items.decode_item(message_data))
    try:
        return envelope_text(fernet.rotate(token).decode())
    except InvalidToken:
        raise UnreadableItem(session_id) from None
