"""Conversation ids in URLs: one path segment that no browser rewrites.

Ids are free text from agent code. Percent-encoding cannot carry them safely:
browsers remove "." and ".." segments from a path before they send it, "%2e%2e"
included, so an id such as "../purge/x" in a form's action would post to
another route. Here letters, digits, "-" and "_" stand as they are, and every
other character is written as "~" and two upper-case hex digits for each of
its UTF-8 bytes: "a/b" is "a~2Fb", ".." is "~2E~2E", "~" is "~7E". The result
never holds a ".", a "/", a "%", a "?" or a "#".

Each id has exactly one spelling: any other spelling (lower-case hex, a
character that should have been escaped) is not a match, and so a 404.
"""

import re

_KEPT = re.compile(r"[A-Za-z0-9_-]")
# Splits a segment into literal runs and the hex of escaped bytes, alternately.
_ESCAPED_BYTE = re.compile(r"~([0-9A-F]{2})")


def encode_conversation_id(session_id: str) -> str:
    return "".join(char if _KEPT.fullmatch(char) else _escape(char) for char in session_id)


def _escape(char: str) -> str:
    return "".join(f"~{byte:02X}" for byte in char.encode())


def decode_conversation_id(segment: str) -> str:
    """The id a segment spells; ValueError if it is not the one spelling of an id."""
    parts = _ESCAPED_BYTE.split(segment)
    data = b"".join(
        bytes.fromhex(part) if index % 2 else part.encode() for index, part in enumerate(parts)
    )
    session_id = data.decode()  # UnicodeDecodeError is a ValueError
    if "\x00" in session_id or encode_conversation_id(session_id) != segment:
        raise ValueError(f"not a conversation id: {segment!r}")
    return session_id


class ConversationIdConverter:
    regex = r"[A-Za-z0-9_~-]+"

    def to_python(self, value: str) -> str:
        return decode_conversation_id(value)

    def to_url(self, value: str) -> str:
        return encode_conversation_id(value)
