"""Converts LangChain messages into OpenAI chat messages, and trims long inputs.

The conversion itself is `langchain_core.messages.convert_to_openai_messages`
(standard image/file/audio blocks, Anthropic `tool_use` blocks, tool calls);
this module checks roles, drops what an assistant turn must not echo back
(reasoning, thinking, tool-call blocks) and refuses blocks no provider reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_messages,
    trim_messages,
)

__all__ = ["calculate_length", "has_images", "to_openai_messages", "trim_to_length"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
USER_BLOCKS = frozenset({"text", "image_url", "input_audio", "file"})
MESSAGE_OVERHEAD = 16  # characters counted per message for role and framing


def _assistant_content(content: Any) -> Any:
    """Keeps only the text of an assistant turn's list content."""
    if not isinstance(content, list):
        return content
    texts = [
        block["text"] if isinstance(block, dict) else str(block)
        for block in content
        if isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
    ]
    return "".join(texts)


def _check_user_content(content: Any, index: int) -> None:
    if not isinstance(content, list):
        return
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else type(block).__name__
        if kind not in USER_BLOCKS:
            msg = (
                f"Message {index}: content block of type {kind!r} cannot be sent to "
                f"Hugging Face Inference Providers (supported: {sorted(USER_BLOCKS)}, "
                "and LangChain's standard image/file/audio blocks)"
            )
            raise ValueError(msg)


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Converts LangChain messages into OpenAI chat-completion messages.

    Args:
        messages: The conversation, any LangChain message types.

    Returns:
        A list of `{"role": ..., "content": ...}` dicts with tool calls and
        tool results in the OpenAI shape.

    Raises:
        ValueError: If the list is empty, a role is unknown, or a content block
            cannot be converted.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> to_openai_messages([HumanMessage("hi")])
        [{'role': 'user', 'content': 'hi'}]
    """
    if not messages:
        msg = "messages must not be empty"
        raise ValueError(msg)
    try:
        converted = convert_to_openai_messages(list(messages))
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        msg = f"Cannot convert the messages to the OpenAI format: {err}"
        raise ValueError(msg) from err
    for index, message in enumerate(converted):
        role = message.get("role")
        if role not in ROLES:
            msg = f"Message {index}: unknown role {role!r} (expected one of {sorted(ROLES)})"
            raise ValueError(msg)
        if role == "assistant":
            message["content"] = _assistant_content(message.get("content"))
            if message.get("tool_calls") and not message["content"]:
                message["content"] = None
        elif role == "user":
            _check_user_content(message.get("content"), index)
    return converted


def has_images(messages: Sequence[BaseMessage]) -> bool:
    """Checks whether any message carries an image block.

    Args:
        messages: The conversation.

    Returns:
        True if a content block is an image (OpenAI `image_url`, standard
        `image`, or Anthropic-style image).
    """
    for message in messages:
        if isinstance(message.content, list):
            for block in message.content:
                if isinstance(block, dict) and block.get("type") in ("image", "image_url"):
                    return True
    return False


def _message_length(message: BaseMessage) -> int:
    content = message.content
    if isinstance(content, str):
        size = len(content)
    else:
        size = sum(
            len(block) if isinstance(block, str) else len(str(block.get("text", "")))
            for block in content
        )
    if isinstance(message, AIMessage):
        size += sum(len(json.dumps(call["args"])) for call in message.tool_calls)
    return size + MESSAGE_OVERHEAD


def _last_turn_start(messages: Sequence[BaseMessage]) -> int:
    """Returns where the last turn starts.

    That is its human message, or else the AI message whose tool calls the
    trailing tool results answer.
    """
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if humans:
        return humans[-1]
    start = len(messages) - 1
    while start > 0 and isinstance(messages[start], ToolMessage):
        start -= 1
    return start


def calculate_length(messages: Sequence[BaseMessage]) -> int:
    """Calculates the length of a conversation in characters, as the seed does.

    Counts the text of every message (text blocks of list content, tool-call
    arguments) plus `MESSAGE_OVERHEAD` per message; images count nothing.

    Args:
        messages: The conversation.

    Returns:
        The total number of characters.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> calculate_length([HumanMessage("hello")])
        21
    """
    return sum(_message_length(m) for m in messages)


def trim_to_length(
    messages: Sequence[BaseMessage], max_chars: int
) -> tuple[list[BaseMessage], dict[str, int] | None]:
    """Drops the oldest turns until the conversation fits in `max_chars`.

    System messages and the latest messages are kept; the kept part starts on a
    human message, so a tool call is never separated from its result. When even
    the last human turn is too long it is kept whole: a request is never
    emptied.

    Args:
        messages: The conversation.
        max_chars: The budget, counted by `calculate_length`.

    Returns:
        (messages, info): the kept messages, and `None` when nothing was
        dropped, else `{"dropped_messages", "original_length", "trimmed_length"}`.
    """
    original = calculate_length(messages)
    if original <= max_chars:
        return list(messages), None
    kept = trim_messages(
        list(messages),
        max_tokens=max_chars,
        token_counter=calculate_length,
        strategy="last",
        include_system=True,
        start_on="human",
        allow_partial=False,
    )
    if not any(not isinstance(m, SystemMessage) for m in kept):
        start = _last_turn_start(messages)
        system = [m for m in messages[:start] if isinstance(m, SystemMessage)]
        kept = system + list(messages[start:])
    info = {
        "dropped_messages": len(messages) - len(kept),
        "original_length": original,
        "trimmed_length": calculate_length(kept),
    }
    return kept, info
