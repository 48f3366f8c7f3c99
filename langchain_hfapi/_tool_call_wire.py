"""Tool calls as servers send them, read into LangChain's shapes (no I/O).

Shapes seen in recorded traffic (`tests/corpus/`), all accepted:

- OpenAI's list of `{"id", "type", "function": {"name", "arguments"}}`, with
  `arguments` a JSON string;
- `arguments` as a JSON object instead of a string (TGI before 3.2);
- one call object instead of a list (TGI 1.4 whole answers, and stream
  deltas from TGI 1.4.5 to 3.1), integer ids, `parameters` instead of
  `arguments` (TGI 1.4);
- stream deltas with `name: null`, whose argument text, once whole, is
  `{"function": {"_name": NAME, ...arguments}}` (TGI 2 and 3.0-3.1).

A call that cannot be read becomes an `invalid_tool_calls` entry with the
reason; nothing here raises for a call's content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call

from langchain_hfapi._error_bodies import excerpt
from langchain_hfapi.errors import MalformedResponseError

__all__ = [
    "arguments_text",
    "as_call_list",
    "call_id",
    "call_name",
    "is_empty_call",
    "parse_tool_calls",
    "unwrap_named_function",
]

# Special tokens older TGI versions leaked after the arguments of a streamed call.
_LEAKED_TOKENS = ("<|eot_id|>", "<|eom_id|>", "<|im_end|>", "</s>")


def as_call_list(raw: Any) -> list[Any]:
    """Returns the tool calls of a message or delta as a list.

    Args:
        raw: The `tool_calls` value: a list, one call object, or `None`.

    Returns:
        The calls, as a list.

    Raises:
        MalformedResponseError: If `raw` is neither.
    """
    if raw is None:
        return []
    if type(raw) is list:
        return raw
    if type(raw) is dict:
        return [raw]
    msg = f"tool_calls is neither a list nor an object: {excerpt(repr(raw), 120)}"
    raise MalformedResponseError(msg)


def _function(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    function = raw.get("function")
    return function if type(function) is dict else raw


def call_name(raw: Mapping[str, Any]) -> str | None:
    """Returns a call's function name, or `None` when it has no string name."""
    name = _function(raw).get("name")
    return name if type(name) is str and name else None


def call_id(raw: Mapping[str, Any]) -> str | None:
    """Returns a call's id as a string (TGI 1.4 sent integers)."""
    value = raw.get("id")
    if type(value) is str:
        return value or None
    if type(value) is int:
        return str(value)
    return None


def arguments_text(raw: Mapping[str, Any]) -> str | None:
    """Returns a call's arguments as JSON text.

    Args:
        raw: One call (or call fragment) as sent.

    Returns:
        `arguments` (or TGI 1.4's `parameters`) as text: strings as they are,
        anything else serialized; `None` when the call has none.
    """
    function = _function(raw)
    args = function.get("arguments")
    if args is None:
        args = function.get("parameters")
    if args is None or type(args) is str:
        return args
    return json.dumps(args, ensure_ascii=False)


def unwrap_named_function(name: str | None, text: str) -> tuple[str | None, str]:
    """Reads TGI's `{"function": {"_name": NAME, ...}}` argument wrapping.

    Args:
        name: The name sent with the call, if any.
        text: The whole argument text of the call.

    Returns:
        (name, arguments text): unwrapped when the call had no name and the
        text has that shape, unchanged otherwise.
    """
    if name is not None:
        return name, text
    data = _loads(text)
    inner = data.get("function") if type(data) is dict and len(data) == 1 else None
    if type(inner) is dict and type(inner.get("_name")) is str:
        args = {k: v for k, v in inner.items() if k != "_name"}
        return inner["_name"], json.dumps(args, ensure_ascii=False)
    return name, text


def _loads(text: str) -> Any:
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def strip_leaked_tokens(text: str) -> str:
    """Removes special tokens that older TGI versions appended to arguments."""
    stripped = text.rstrip()
    for token in _LEAKED_TOKENS:
        if stripped.endswith(token):
            return stripped[: -len(token)].rstrip()
    return text


def is_empty_call(name: str | None, text: str | None) -> bool:
    """Checks whether a call has neither a name nor arguments (only leaked tokens).

    Older TGI versions streamed a lone `"</s>"` or `"<|eot_id|>"` as a call
    when the model made none; such a call is no call.
    """
    return name is None and not strip_leaked_tokens(text or "").strip()


def parse_call(name: str | None, text: str | None, id_: str | None) -> ToolCall | InvalidToolCall:
    """Parses one whole call strictly: cut or non-object arguments are invalid.

    Args:
        name: The function name.
        text: The whole argument text ("" or "null" for a tool without
            arguments).
        id_: The call id.

    Returns:
        A `ToolCall`, or an `InvalidToolCall` saying why.
    """
    text = strip_leaked_tokens(text or "")
    name, text = unwrap_named_function(name, text)
    if not text.strip() or text.strip() == "null":
        args: Any = {}
    else:
        args = _loads(text)
        if type(args) is not dict:
            reason = (
                "arguments are not valid JSON" if args is None else "arguments are not an object"
            )
            return invalid_tool_call(name=name, args=text, id=id_, error=reason)
    if name is None:
        return invalid_tool_call(name=None, args=text, id=id_, error="tool call has no name")
    return tool_call(name=name, args=args, id=id_)


def parse_tool_calls(raw: Any) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Parses the tool calls of a whole message.

    Args:
        raw: The message's `tool_calls` value, in any shape listed above.

    Returns:
        (tool_calls, invalid_tool_calls).

    Raises:
        MalformedResponseError: If `tool_calls` is neither a list nor an object.
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for item in as_call_list(raw):
        if type(item) is not dict:
            error = "tool call is not an object"
            invalid.append(invalid_tool_call(name=None, args=None, id=None, error=error))
            continue
        name, text = call_name(item), arguments_text(item)
        if is_empty_call(name, text):
            continue
        parsed = parse_call(name, text, call_id(item))
        if parsed.get("type") == "invalid_tool_call":
            invalid.append(parsed)  # type: ignore[arg-type]
        else:
            calls.append(parsed)  # type: ignore[arg-type]
    return calls, invalid
