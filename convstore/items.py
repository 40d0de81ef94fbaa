"""Pure functions on Agents SDK items (dicts): kind, tool name, user turn, text.

The classification mirrors AdvancedSQLiteSession so that message_structure rows
written here and by the SDK are the same.
"""

import json
import math
from typing import Any

# Tool calls whose items carry no "name": the type names the tool.
NAMELESS_TOOL_TYPES = {
    "computer_call",
    "file_search_call",
    "web_search_call",
    "code_interpreter_call",
    "shell_call",
    "apply_patch_call",
    "tool_search_call",
    "tool_search_output",
}

# message_type values that count as a call of a tool (the SDK's get_tool_usage).
TOOL_CALL_TYPES = (
    "tool_call",
    "function_call",
    "computer_call",
    "file_search_call",
    "web_search_call",
    "code_interpreter_call",
    "tool_search_call",
    "custom_tool_call",
    "mcp_call",
    "mcp_approval_request",
    "shell_call",
    "apply_patch_call",
)

TOOL_OUTPUT_TYPES = (
    "function_call_output",
    "computer_call_output",
    "custom_tool_call_output",
    "shell_call_output",
    "apply_patch_call_output",
    "local_shell_call_output",
    "tool_search_output",
)


class InvalidItem(ValueError):
    """An item that cannot be stored as an SDK item."""


def is_user_message(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


def message_type(item: Any) -> str:
    if isinstance(item, dict):
        if item.get("role") == "user":
            return "user"
        if item.get("role") == "assistant":
            return "assistant"
        if item.get("type"):
            return _storable(str(item.get("type")))
    return "other"


def _storable(text: str) -> str:
    """A derived column's text: PostgreSQL's text cannot hold NUL, which the item itself keeps."""
    return text.replace("\x00", "\ufffd")


def tool_name(item: Any) -> str | None:
    name = _tool_name(item)
    return _storable(name) if name is not None else None


def _tool_name(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    item_type = item.get("type")
    if item_type in {"mcp_call", "mcp_approval_request"} and "server_label" in item:
        label, name = item.get("server_label"), item.get("name")
        if name and label:
            return f"{label}.{name}"
        return str(label) if label else (str(name) if name else None)
    if item_type in NAMELESS_TOOL_TYPES:
        return "tool_search" if item_type.startswith("tool_search") else item_type
    if "name" in item:
        name, namespace = item.get("name"), item.get("namespace")
        if name is None:
            return None
        name = str(name)
        namespace = str(namespace) if namespace is not None else None
        if not name or not namespace or namespace == name:
            return name
        return f"{namespace}.{name}"
    return None


# json.dumps(item, allow_nan=False) builds an encoder on every call.
_STRICT_ENCODER = json.JSONEncoder(allow_nan=False)


def encode_item(item: Any) -> str:
    """The item as the SDK stores it (json.dumps), or InvalidItem saying why not.

    Most items encode and decode back to themselves; only the rest are walked,
    to name what is wrong and where.
    """
    if not isinstance(item, dict):
        raise InvalidItem(f"Session items must be dicts, not {type(item).__name__}")
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        raise InvalidItem(f'An item\'s "type" must be a string, not {type(kind).__name__}')
    try:
        text = _STRICT_ENCODER.encode(item)
        # ensure_ascii spells every non-BMP character and lone surrogate as \udXXX.
        gives_back = "\\ud" not in text and json.loads(text) == item
    except (TypeError, ValueError, RecursionError) as exc:
        _raise_what_cannot_be_stored(item)
        if isinstance(exc, RecursionError):
            raise InvalidItem("Item is nested too deeply to be stored") from None
        raise InvalidItem(f"Item cannot be encoded as JSON: {exc}") from exc
    if not gives_back:
        _raise_what_cannot_be_stored(item)
    return text


def _raise_what_cannot_be_stored(item: dict) -> None:
    """InvalidItem naming what in the item cannot be stored, and where; None if nothing."""
    try:
        _reject_unstorable(item, path=[], enclosing=set())
    except RecursionError:
        raise InvalidItem("Item is nested too deeply to be stored") from None


def _reject_unstorable(value: Any, *, path: list, enclosing: set[int]) -> None:
    """Raise InvalidItem for what json.dumps would refuse or not give back as it was.

    `path` holds the keys and indexes from the item down to `value`, spelled out
    only in an error (every append walks its items). `enclosing` holds the ids
    of the containers around `value`: an item that contains itself would
    otherwise recurse until the stack runs out.
    """
    if isinstance(value, str):
        _reject_lone_surrogates(value, path=path)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidItem(f"{_spelled(path)} is {value}, which JSON cannot represent")
    elif isinstance(value, dict | list | tuple):
        if id(value) in enclosing:
            raise InvalidItem(f"{_spelled(path)} contains itself (a circular reference)")
        enclosing.add(id(value))
        _reject_unstorable_members(value, path=path, enclosing=enclosing)
        enclosing.discard(id(value))
    elif value is not None and not isinstance(value, bool | int | float):
        raise InvalidItem(f"{_spelled(path)} is a {type(value).__name__}, which JSON cannot encode")


def _reject_unstorable_members(value: dict | list | tuple, *, path: list, enclosing: set[int]):
    is_dict = isinstance(value, dict)
    for key, inner in value.items() if is_dict else enumerate(value):
        if is_dict:
            if not isinstance(key, str):
                raise InvalidItem(f"{_spelled(path)} has a key that is not a string: {key!r}")
            _reject_lone_surrogates(key, path=path)
        path.append(key)
        _reject_unstorable(inner, path=path, enclosing=enclosing)
        path.pop()


def _reject_lone_surrogates(text: str, *, path: list) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidItem(
            f"{_spelled(path)} holds a lone surrogate ({exc.reason}), not valid text"
        ) from exc


def _spelled(path: list) -> str:
    return "item" + "".join(f"[{key!r}]" for key in path)


def decode_item(message_data: str) -> dict | None:
    """The stored item, or None where the stored text is not an SDK item."""
    try:
        item = json.loads(message_data)
    except (json.JSONDecodeError, TypeError):
        return None
    return item


def content_preview(content: Any, max_length: int | None = None) -> str:
    """A user message's content as text, truncated like the SDK's previews."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    if max_length is not None and len(text) > max_length:
        return text[:max_length] + "..."
    return text


def item_text(item: Any) -> str:
    """The readable text of any item, for transcripts and search."""
    if not isinstance(item, dict):
        return ""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return "\n".join(part for part in parts if isinstance(part, str))
    if "arguments" in item:
        return str(item["arguments"])
    if "output" in item:
        output = item["output"]
        return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    summary = item.get("summary")
    if isinstance(summary, list):
        return "\n".join(str(part.get("text", "")) for part in summary if isinstance(part, dict))
    return ""
