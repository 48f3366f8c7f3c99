"""Tests for message conversion and trimming (`langchain_hfapi._messages`)."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_hfapi._messages import (
    MESSAGE_OVERHEAD,
    calculate_length,
    has_images,
    to_openai_messages,
    trim_to_length,
)

WEATHER_CALL = {"name": "get_weather", "args": {"city": "Zürich", "unit": "°C"}, "id": "call_1"}


# --- to_openai_messages ------------------------------------------------------------------


def test_roles_of_every_message_type() -> None:
    messages: list[BaseMessage] = [
        SystemMessage("be brief"),
        HumanMessage("hi"),
        AIMessage("hello"),
        ChatMessage(role="developer", content="dev note"),
        FunctionMessage(name="f", content="result"),
    ]
    assert to_openai_messages(messages) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "developer", "content": "dev note"},
        {"role": "function", "name": "f", "content": "result"},
    ]


def test_tool_calls_serialized_with_string_arguments_keeping_non_ascii() -> None:
    [converted] = to_openai_messages([AIMessage("", tool_calls=[WEATHER_CALL])])
    assert converted["role"] == "assistant"
    assert converted["content"] is None
    [call] = converted["tool_calls"]
    assert call["id"] == "call_1"
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    arguments = call["function"]["arguments"]
    assert isinstance(arguments, str)
    assert "Zürich" in arguments and "°C" in arguments
    assert json.loads(arguments) == WEATHER_CALL["args"]


def test_tool_message_becomes_role_tool_with_call_id() -> None:
    converted = to_openai_messages(
        [AIMessage("", tool_calls=[WEATHER_CALL]), ToolMessage("sunny", tool_call_id="call_1")]
    )
    assert converted[1] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


def test_assistant_text_kept_next_to_tool_calls() -> None:
    [converted] = to_openai_messages([AIMessage("Let me check.", tool_calls=[WEATHER_CALL])])
    assert converted["content"] == "Let me check."
    assert len(converted["tool_calls"]) == 1


def test_assistant_reasoning_thinking_and_tool_use_blocks_stripped_to_text() -> None:
    content = [
        {"type": "reasoning", "reasoning": "secret chain"},
        {"type": "thinking", "thinking": "more secrets", "signature": "sig"},
        {"type": "text", "text": "Hello "},
        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"q": "x"}},
        {"type": "text", "text": "world"},
    ]
    [converted] = to_openai_messages([AIMessage(content=content)])  # type: ignore[arg-type]
    assert converted["content"] == "Hello world"
    assert "secret" not in json.dumps(converted)
    [call] = converted["tool_calls"]  # the tool_use block is sent as a proper tool call
    assert call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"q": "x"}


def test_assistant_with_only_tool_calls_and_reasoning_has_null_content() -> None:
    message = AIMessage(
        content=[{"type": "reasoning", "reasoning": "hmm"}],  # type: ignore[list-item]
        tool_calls=[WEATHER_CALL],
    )
    [converted] = to_openai_messages([message])
    assert converted["content"] is None


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
        {
            "type": "image",
            "source_type": "base64",
            "data": "iVBORw0KGgo=",
            "mime_type": "image/png",
        },
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
    ],
    ids=["v1-standard", "v0-standard", "anthropic"],
)
def test_standard_image_block_becomes_image_url_data_uri(block: dict) -> None:
    message = HumanMessage(content=[{"type": "text", "text": "what is it?"}, block])
    [converted] = to_openai_messages([message])
    assert converted["content"] == [
        {"type": "text", "text": "what is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]


def test_image_url_block_passes_through() -> None:
    block = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    [converted] = to_openai_messages([HumanMessage(content=[block])])
    assert converted["content"] == [block]


def test_unknown_role_is_a_value_error_naming_the_message() -> None:
    messages = [HumanMessage("ok"), ChatMessage(role="critic", content="x")]
    with pytest.raises(ValueError, match=r"Message 1: unknown role 'critic'"):
        to_openai_messages(messages)


@pytest.mark.parametrize(
    "block",
    [
        {"type": "thinking", "thinking": "t"},
        {"type": "reasoning", "reasoning": "r"},
        {"type": "document", "source": {}},
        {"type": "weird", "x": 1},
        {"type": "video", "url": "https://example.com/v.mp4"},
    ],
    ids=lambda b: b["type"],
)
def test_unconvertible_user_block_is_a_value_error(block: dict) -> None:
    with pytest.raises(ValueError, match=r"not supported|cannot be sent"):
        to_openai_messages([HumanMessage(content=[{"type": "text", "text": "hi"}, block])])


def test_tool_use_block_in_user_message_is_a_value_error() -> None:
    block = {"type": "tool_use", "id": "1", "name": "f", "input": {}}
    with pytest.raises(ValueError):
        to_openai_messages([HumanMessage(content=[block])])


def test_empty_conversation_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        to_openai_messages([])


def test_conversion_does_not_mutate_the_input() -> None:
    content = [{"type": "reasoning", "reasoning": "r"}, {"type": "text", "text": "t"}]
    message = AIMessage(content=list(content))  # type: ignore[arg-type]
    to_openai_messages([message])
    assert message.content == content


# --- has_images / calculate_length ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("plain text", False),
        ([{"type": "text", "text": "x"}], False),
        ([{"type": "image_url", "image_url": {"url": "https://x/y.png"}}], True),
        ([{"type": "image", "url": "https://x/y.png"}], True),
        (["a string block", {"type": "image", "base64": "AA", "mime_type": "image/png"}], True),
    ],
)
def test_has_images(content: object, expected: bool) -> None:
    assert has_images([SystemMessage("s"), HumanMessage(content=content)]) is expected  # type: ignore[arg-type]


def test_calculate_length_counts_text_tool_args_and_overhead() -> None:
    assert calculate_length([HumanMessage("hello")]) == 5 + MESSAGE_OVERHEAD
    assert calculate_length([]) == 0
    blocks = HumanMessage(
        content=[
            "abc",
            {"type": "text", "text": "de"},
            {"type": "image_url", "image_url": {"url": "x" * 99}},
        ]
    )
    assert calculate_length([blocks]) == 5 + MESSAGE_OVERHEAD
    with_call = AIMessage("ok", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "c"}])
    assert calculate_length([with_call]) == 2 + len(json.dumps({"a": 1})) + MESSAGE_OVERHEAD
    both = [HumanMessage("hello"), with_call]
    assert calculate_length(both) == calculate_length(both[:1]) + calculate_length(both[1:])


# --- trim_to_length ---------------------------------------------------------------------------


def conversation() -> list[BaseMessage]:
    return [
        SystemMessage("s" * 10),
        HumanMessage("old question " * 15),
        AIMessage("", tool_calls=[{"name": "f", "args": {"q": "x" * 50}, "id": "c1"}]),
        ToolMessage("r" * 100, tool_call_id="c1"),
        AIMessage("a" * 20),
        HumanMessage("q" * 30),
        AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c2"}]),
        ToolMessage("t" * 30, tool_call_id="c2"),
        AIMessage("done"),
    ]


def assert_tool_results_follow_their_calls(kept: list[BaseMessage]) -> None:
    seen: set[str] = set()
    for message in kept:
        if isinstance(message, AIMessage):
            seen.update(call["id"] or "" for call in message.tool_calls)
        if isinstance(message, ToolMessage):
            assert message.tool_call_id in seen, "tool result separated from its call"


def test_trim_not_needed_returns_everything_and_no_info() -> None:
    messages = conversation()
    kept, info = trim_to_length(messages, calculate_length(messages))
    assert kept == messages
    assert kept is not messages
    assert info is None


def test_trim_keeps_system_and_latest_turn() -> None:
    messages = conversation()
    kept, info = trim_to_length(messages, calculate_length(messages) - 1)
    assert kept == [messages[0], *messages[5:]]
    assert info == {
        "dropped_messages": 4,
        "original_length": calculate_length(messages),
        "trimmed_length": calculate_length(kept),
    }


def test_trim_at_every_budget_keeps_invariants() -> None:
    messages = conversation()
    total = calculate_length(messages)
    for budget in range(total + 20):
        kept, info = trim_to_length(messages, budget)
        assert kept[0] is messages[0]  # the system message is kept
        non_system = [m for m in kept if not isinstance(m, SystemMessage)]
        assert non_system, budget
        assert isinstance(non_system[0], HumanMessage), budget
        assert non_system == messages[len(messages) - len(non_system) :], budget  # a suffix
        assert_tool_results_follow_their_calls(kept)
        if budget >= total:
            assert info is None
        else:
            assert info is not None
            assert info["dropped_messages"] == len(messages) - len(kept)
            assert info["trimmed_length"] == calculate_length(kept) < total


def test_trim_keeps_the_last_human_turn_whole_when_it_alone_is_too_long() -> None:
    messages = [
        SystemMessage("sys"),
        HumanMessage("h" * 50),
        AIMessage("a"),
        HumanMessage("x" * 500),
    ]
    kept, info = trim_to_length(messages, 100)
    assert kept == [messages[0], messages[3]]
    assert info is not None and info["trimmed_length"] > 100


def test_trim_never_returns_only_system_messages() -> None:
    messages = [SystemMessage("s" * 500), HumanMessage("hi")]
    kept, _ = trim_to_length(messages, 50)
    assert kept == messages


def test_trim_without_system_message() -> None:
    messages = [HumanMessage("h" * 200), AIMessage("a" * 20), HumanMessage("q" * 30)]
    kept, info = trim_to_length(messages, 100)
    assert kept == [messages[2]]
    assert info is not None and info["dropped_messages"] == 2


def test_trim_without_human_message_keeps_tool_call_with_result() -> None:
    call = {"name": "f", "args": {"q": "x" * 50}, "id": "c1"}
    messages = [
        SystemMessage("s"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("r" * 100, tool_call_id="c1"),
    ]
    kept, _ = trim_to_length(messages, 50)
    assert_tool_results_follow_their_calls(kept)
    assert kept == messages  # dropping either half of the call/result pair breaks it
