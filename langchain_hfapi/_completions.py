"""Converts whole chat-completion answers into LangChain messages.

`completion_to_message` reads a whole answer; `_stream_converter` reads a
stream with the same field readers, so both put the same keys in
`response_metadata` and read text, reasoning and usage the same way. Values
with the wrong type in the fields that carry the answer raise
`MalformedResponseError`; unreadable metadata (a usage count that is not a
number) is left out rather than reported wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata

from langchain_hfapi._error_bodies import excerpt
from langchain_hfapi._tool_call_wire import parse_tool_calls
from langchain_hfapi.errors import MalformedResponseError

__all__ = [
    "MODEL_PROVIDER",
    "add_final_metadata",
    "check_completion",
    "completion_to_message",
    "read_reasoning",
    "read_text",
    "to_usage",
]

MODEL_PROVIDER = "huggingface"  # response_metadata["model_provider"], ls_provider


def _count(value: Any) -> int | None:
    """Returns a token count, or `None` for anything but a non-negative integer."""
    if type(value) is int and value >= 0:
        return value
    if type(value) is float and value.is_integer() and 0 <= value < 1e15:
        return int(value)
    return None


def _details(usage: Mapping[str, Any], key: str, field: str) -> int | None:
    details = usage.get(key)
    return _count(details.get(field)) if type(details) is dict else None


def to_usage(usage: Any) -> UsageMetadata | None:
    """Converts an OpenAI `usage` object into LangChain usage metadata.

    Args:
        usage: `{"prompt_tokens", "completion_tokens", "total_tokens", ...}`,
            optionally with `prompt_tokens_details.cached_tokens` and
            `completion_tokens_details.reasoning_tokens`.

    Returns:
        `UsageMetadata` with token details where the provider reported them;
        `None` when `usage` is not an object with token counts.

    Example:
        >>> to_usage({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        {'input_tokens': 3, 'output_tokens': 2, 'total_tokens': 5}
    """
    if type(usage) is not dict:
        return None
    inp = _count(usage.get("prompt_tokens"))
    out = _count(usage.get("completion_tokens"))
    if inp is None and out is None:
        return None
    inp, out = inp or 0, out or 0
    total = _count(usage.get("total_tokens"))
    result = UsageMetadata(input_tokens=inp, output_tokens=out, total_tokens=total or inp + out)
    cached = _details(usage, "prompt_tokens_details", "cached_tokens")
    if cached is not None:
        result["input_token_details"] = InputTokenDetails(cache_read=cached)
    reasoning = _details(usage, "completion_tokens_details", "reasoning_tokens")
    if reasoning is not None:
        result["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return result


def read_text(fields: Mapping[str, Any]) -> str:
    """Returns the answer text of a message or delta.

    Args:
        fields: A `message` or `delta` object.

    Returns:
        `content` as text ("" when absent or null); a list of content parts
        gives the concatenation of its text parts (thinking parts are
        reasoning, see `read_reasoning`).

    Raises:
        MalformedResponseError: If `content` is neither text, null nor parts.
    """
    content = fields.get("content")
    if type(content) is str:
        return content
    if content is None:
        return ""
    if type(content) is list and all(type(part) is dict for part in content):
        texts = [part.get("text") for part in content if part.get("type") == "text"]
        if all(type(text) is str for text in texts):
            return "".join(texts)
    msg = f"message content is not text: {excerpt(repr(content), 120)}"
    raise MalformedResponseError(msg)


def read_reasoning(fields: Mapping[str, Any]) -> str:
    """Returns the reasoning text of a message or delta, or "".

    Reasoning comes as `reasoning_content` (DeepSeek, vLLM, SGLang), as
    `reasoning` (Groq, OpenRouter, the router), or as `thinking` content parts
    (Mistral's Magistral). Reasoning that is not text (some servers send
    structured reasoning objects) is left out: it is not part of the answer.
    """
    value = fields.get("reasoning_content") or fields.get("reasoning")
    if type(value) is str:
        return value
    content = fields.get("content")
    return _thinking_text(content) if type(content) is list else ""


def _thinking_text(parts: list[Any]) -> str:
    """Joins the text of `{"type": "thinking", "thinking": [text parts]}` parts."""
    texts: list[str] = []
    for part in parts:
        inner = (
            part.get("thinking") if type(part) is dict and part.get("type") == "thinking" else None
        )
        if type(inner) is str:
            texts.append(inner)
        elif type(inner) is list:
            texts.extend(p["text"] for p in inner if type(p) is dict and type(p.get("text")) is str)
    return "".join(texts)


def check_completion(body: Any) -> dict[str, Any]:
    """Checks that a whole answer has `choices[0].message`.

    The client calls it before accepting an answer, so an answer without one is
    retried and failed over like any other provider failure.

    Args:
        body: The decoded JSON answer.

    Returns:
        `body`, unchanged.

    Raises:
        MalformedResponseError: If there is no `choices[0].message` object.
    """
    choices = body.get("choices") if type(body) is dict else None
    if not choices or type(choices) is not list or type(choices[0]) is not dict:
        msg = "answer has no choices: " + excerpt(_dump(body), 120)
        raise MalformedResponseError(msg, status_code=200)
    if type(choices[0].get("message")) is not dict:
        msg = "answer choice has no message: " + excerpt(_dump(body), 120)
        raise MalformedResponseError(msg, status_code=200)
    return dict(body)


def _dump(body: Any) -> str:
    try:
        return json.dumps(body, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return repr(body)


def completion_to_message(body: Any, metadata: Mapping[str, Any]) -> AIMessage:
    """Converts a whole chat completion into an `AIMessage`.

    Args:
        body: The decoded JSON answer.
        metadata: Attribution for `response_metadata` (model name, provider,
            request id, attempts).

    Returns:
        The message, with tool calls, reasoning, usage and metadata.

    Raises:
        MalformedResponseError: If the answer has no `choices[0].message`, or
            its content, reasoning or tool calls have the wrong type.
    """
    choice = check_completion(body)["choices"][0]
    message = choice["message"]
    response_metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER, **metadata}
    add_final_metadata(response_metadata, body, choice.get("finish_reason"))
    if type(choice.get("logprobs")) is dict:
        response_metadata["logprobs"] = choice["logprobs"]
    reasoning = read_reasoning(message)
    calls, invalid = parse_tool_calls(message.get("tool_calls"))
    return AIMessage(
        content=read_text(message),
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=to_usage(body.get("usage")),
        response_metadata=response_metadata,
    )


def add_final_metadata(
    metadata: dict[str, Any], body: Mapping[str, Any], finish_reason: Any
) -> None:
    """Adds the keys that a stream reports once, on its last chunk.

    Args:
        metadata: The `response_metadata` being built (changed in place).
        body: The answer, or the first values a stream sent: `id` and
            `system_fingerprint` are copied when they are non-empty text.
        finish_reason: The finish reason as sent; kept when it is text.
    """
    for key in ("id", "system_fingerprint"):
        value = body.get(key)
        if value and type(value) is str:
            metadata[key] = value
    if finish_reason and type(finish_reason) is str:
        metadata["finish_reason"] = finish_reason
