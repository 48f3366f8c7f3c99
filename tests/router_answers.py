"""Realistic default answers of the fake router to tools and JSON schemas (no I/O).

When a chat request binds ``tools`` (and ``tool_choice`` is not ``"none"``), the
fake answers with one call to the chosen tool (the named one, else the first),
its arguments built from the tool's JSON schema. When the last message is a tool
result, the answer is that result's text. With ``response_format`` of type
``json_schema`` the answer is JSON matching the schema; with ``json_object`` it
is ``{"answer": <default text>}``.

Values are taken from the last user message, so examples read naturally:
strings are its capitalized words (the first word of the message excluded),
numbers its first number. "Weather in Paris?" gives ``{"city": "Paris"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ToolCall", "chosen_tool_call", "json_answer", "tool_result_text"]

ToolCall = tuple[str, str]
"""A tool call to answer with: ``(name, JSON arguments)``."""

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z][\w'-]*")


def _last_text(messages: Any, role: str) -> str | None:
    """The text of the last message with ``role``, if it is the last message of all."""
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    last = messages[-1]
    if last.get("role") != role:
        return None
    content = last.get("content")
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return content if isinstance(content, str) else ""


def _prompt(request: Mapping[str, Any]) -> str:
    return _last_text(request.get("messages"), "user") or ""


def _string_from(prompt: str) -> str:
    words = _WORD.findall(prompt)[1:]
    capitalized = [w for w in words if w[0].isupper()]
    return " ".join(capitalized) or "example"


def _number_from(prompt: str) -> float | None:
    match = _NUMBER.search(prompt)
    return float(match.group()) if match else None


def _resolve(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follows a local ``$ref`` and takes the first branch of ``anyOf``/``oneOf``."""
    if not isinstance(schema, Mapping):
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for key in ref[2:].split("/"):
            target = target.get(key, {}) if isinstance(target, Mapping) else {}
        return _resolve(target, root)
    for key in ("anyOf", "oneOf", "allOf"):
        branches = [b for b in schema.get(key, []) if _resolve(b, root).get("type") != "null"]
        if branches:
            return _resolve(branches[0], root)
    return schema


def schema_value(schema: Any, prompt: str, root: Mapping[str, Any] | None = None) -> Any:
    """A value matching ``schema``, drawn from ``prompt`` where it can be."""
    root = root if root is not None else (schema if isinstance(schema, Mapping) else {})
    schema = _resolve(schema, root)
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    number = _number_from(prompt)
    if kind == "integer":
        return int(number) if number is not None else 1
    if kind == "number":
        return number if number is not None else 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [schema_value(schema.get("items", {}), prompt, root)]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: schema_value(sub, prompt, root) for name, sub in properties.items()}
    return _string_from(prompt)


def chosen_tool_call(request: Mapping[str, Any]) -> ToolCall | None:
    """The call to answer ``request`` with, or None (no tools, ``"none"``, a tool result)."""
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict)]
    choice = request.get("tool_choice")
    if not tools or choice == "none" or _last_text(request.get("messages"), "tool") is not None:
        return None
    functions = [t.get("function") or {} for t in tools]
    wanted = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    function = next((f for f in functions if f.get("name") == wanted), functions[0])
    arguments = schema_value(function.get("parameters") or {}, _prompt(request))
    return str(function.get("name", "tool")), json.dumps(arguments)


def tool_result_text(request: Mapping[str, Any]) -> str | None:
    """The answer after a tool result: the result's text (None if the last message is not one)."""
    return _last_text(request.get("messages"), "tool")


def json_answer(request: Mapping[str, Any], text: str) -> str | None:
    """The JSON answer ``response_format`` asks for, or None without one."""
    fmt = request.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": text})
    spec = fmt.get("json_schema")
    if fmt.get("type") == "json_schema" and isinstance(spec, dict):
        return json.dumps(schema_value(spec.get("schema") or {}, _prompt(request)))
    return None


def tool_call_message(call: ToolCall, number: int) -> dict[str, Any]:
    """The assistant message of a whole answer that calls one tool."""
    name, arguments = call
    function = {"name": name, "arguments": arguments}
    tool_call = {"id": f"call_{number}", "type": "function", "function": function}
    return {"role": "assistant", "content": None, "tool_calls": [tool_call]}


def tool_call_deltas(call: ToolCall, number: int) -> list[dict[str, Any]]:
    """The stream deltas of that call: name and id first, then the arguments in two pieces."""
    name, arguments = call
    half = len(arguments) // 2
    head = {"index": 0, "id": f"call_{number}", "type": "function"}
    return [
        {"tool_calls": [{**head, "function": {"name": name, "arguments": arguments[:half]}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]},
    ]
