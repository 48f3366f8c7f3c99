"""Tests for the event reader (`_stream_events`) and tool-call wire shapes (`_tool_call_wire`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from langchain_hfapi._stream_events import EventReader, completion_events, has_content
from langchain_hfapi._tool_call_wire import parse_call, parse_tool_calls
from langchain_hfapi.errors import InvalidRequestError, MalformedResponseError, ProviderError
from tests.helpers import MODES, STREAMING, chunk, collect, completion, run
from tests.router_server import RouterServer, Step


def sse(*events: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + (b"data: [DONE]\n\n" if done else b"")


def test_events_before_an_error_event_are_handed_over_before_it_is_raised() -> None:
    reader = EventReader()
    body = sse(chunk({"content": "a"}), {"error": "boom"}, chunk({"content": "b"}))
    events = list(reader.feed(body))
    assert [e["choices"][0]["delta"]["content"] for e in events] == ["a"]
    assert reader.stopped
    with pytest.raises(ProviderError, match="boom"):
        reader.check()


def test_stream_ending_without_done_or_finish_reason_is_incomplete() -> None:
    reader = EventReader()
    assert len(list(reader.feed(sse(chunk({"content": "a"}), done=False)))) == 1
    assert list(reader.finish()) == []
    with pytest.raises(MalformedResponseError, match="incomplete"):
        reader.check()


def test_stream_ending_after_a_finish_reason_without_done_is_complete() -> None:
    reader = EventReader()
    list(reader.feed(sse(chunk({"content": "a"}), chunk({}, finish="stop"), done=False)))
    list(reader.finish())
    reader.check()
    assert reader.finished and not reader.done


def test_last_event_without_blank_line_is_flushed_at_the_end() -> None:
    reader = EventReader()
    assert list(reader.feed(b'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}')) == []
    (event,) = list(reader.finish())
    assert event["choices"][0]["finish_reason"] == "stop"
    reader.check()


def test_json_lines_separated_by_one_newline_are_read_as_several_events() -> None:
    reader = EventReader()
    body = (
        b'data:{"choices":[{"delta":{"content":"a"}}]}\n'
        b'data:{"choices":[{"delta":{"content":"b"}}]}\n\n'
    )
    events = list(reader.feed(body))
    assert [e["choices"][0]["delta"]["content"] for e in events] == ["a", "b"]


def test_several_data_lines_that_are_not_json_each_are_malformed() -> None:
    reader = EventReader()
    assert list(reader.feed(b"data: {\ndata: }x\n\n")) == []
    with pytest.raises(MalformedResponseError, match="not a JSON object"):
        reader.check()


@pytest.mark.parametrize(
    "delta",
    [{"content": 5}, {"content": {"a": 1}}, {"tool_calls": "x"}],
    ids=["number", "object", "string-calls"],
)
def test_content_of_the_wrong_type_is_malformed(delta: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        has_content(chunk(delta))


@pytest.mark.parametrize("choices", ["x", [1], {"delta": {}}])
def test_choices_of_the_wrong_type_are_malformed(choices: Any) -> None:
    with pytest.raises(MalformedResponseError, match="choices"):
        has_content({"choices": choices})


def test_whole_answer_becomes_one_event_with_indexed_tool_calls() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = completion({"content": "hi", "tool_calls": [call]}, finish="tool_calls")
    body["usage"] = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    (event,) = completion_events(body)
    choice = event["choices"][0]
    assert choice["delta"]["content"] == "hi"
    assert choice["delta"]["tool_calls"] == [{"index": 0, **call}]
    assert choice["finish_reason"] == "tool_calls"
    assert event["usage"] == body["usage"]


# --- tool-call wire shapes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "args", "id_"),
    [
        ({"id": 0, "function": {"name": "f", "parameters": {"a": 1}}}, "f", {"a": 1}, "0"),
        ([{"id": "c", "function": {"name": "f", "arguments": {"a": 1}}}], "f", {"a": 1}, "c"),
        ([{"id": "c", "function": {"name": "f", "arguments": "null"}}], "f", {}, "c"),
        ([{"function": {"name": "f", "arguments": '{"a": 1}<|eot_id|>'}}], "f", {"a": 1}, None),
        (
            [{"function": {"name": None, "arguments": '{"function": {"_name": "g", "b": 2}}'}}],
            "g",
            {"b": 2},
            None,
        ),
    ],
    ids=["tgi-1.4-object", "dict-arguments", "null-arguments", "leaked-token", "named-function"],
)
def test_tool_call_shapes_seen_in_recorded_traffic_are_read(
    raw: Any, name: str, args: dict[str, Any], id_: str | None
) -> None:
    calls, invalid = parse_tool_calls(raw)
    assert invalid == []
    assert [(c["name"], c["args"], c["id"]) for c in calls] == [(name, args, id_)]


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("f", '{"path": "/tmp/x", "recursive', "not valid JSON"),
        ("f", "[1, 2]", "not an object"),
        (None, '{"a": 1}', "no name"),
    ],
)
def test_unreadable_call_is_invalid_with_its_reason(
    name: str | None, text: str, reason: str
) -> None:
    call = parse_call(name, text, "c1")
    assert call["type"] == "invalid_tool_call"
    assert reason in call["error"]  # type: ignore[typeddict-item]
    assert call["args"] == text  # type: ignore[typeddict-item]


def test_non_object_items_become_invalid_calls_and_a_lone_end_token_is_no_call() -> None:
    calls, invalid = parse_tool_calls(["x", {"function": {"name": None, "arguments": "</s>"}}])
    assert calls == []
    assert [c["error"] for c in invalid] == ["tool call is not an object"]


def test_tool_calls_of_the_wrong_type_are_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="tool_calls"):
        parse_tool_calls("f()")


# --- over loopback ---------------------------------------------------------------------

CUT_CALL = [
    chunk({"role": "assistant"}),
    chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "delete_files"}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"path": "/tmp/x", "re'}}]}),
]


@pytest.mark.parametrize("mode", STREAMING)
async def test_stream_cut_inside_a_tool_call_raises_with_the_call_invalid(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.stream(CUT_CALL, done=False))
    _, err = await collect(make_llm(max_retries=0), mode, "hi")
    assert isinstance(err, MalformedResponseError)
    assert "incomplete" in str(err) and err.provider == "together"
    partial = err.partial_message
    assert partial is not None and partial.tool_calls == []
    (invalid,) = partial.invalid_tool_calls
    assert invalid["name"] == "delete_files" and invalid["args"] == '{"path": "/tmp/x", "re'
    assert len(router.chat_requests()) == 1  # after the first token: never retried


@pytest.mark.parametrize("mode", MODES)
async def test_stream_cut_before_any_token_fails_over_to_the_next_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    step = Step.stream([chunk({"role": "assistant"})], done=False)
    router.script("together", step)
    llm = make_llm(max_retries=0, provider=["together", "fireworks-ai"], streaming=True)
    msg = await run(llm, mode, "hi")
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["attempts"][0]["error"] == "MalformedResponseError"


@pytest.mark.parametrize("mode", STREAMING)
async def test_error_event_after_text_keeps_the_text_on_the_error(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    error = {"error": {"message": "bad tool", "http_status_code": 422}}
    router.script(
        "together", Step.stream([chunk({"content": "Hel"}), chunk({"content": "lo"}), error])
    )
    chunks, err = await collect(make_llm(max_retries=0), mode, "hi")
    assert isinstance(err, InvalidRequestError) and err.status_code == 422
    assert "".join(c.text for c in chunks) == "Hello"
    assert err.partial_message is not None and err.partial_message.content == "Hello"
    assert err.partial_message.response_metadata["provider"] == "together"


def test_events_are_parsed_one_at_a_time_as_they_are_taken() -> None:
    reader = EventReader()
    body = sse(chunk({"content": "a"}), chunk({"content": "b"}), done=False) + b"data: {x\n\n"
    events = reader.feed(body)
    assert next(events)["choices"][0]["delta"]["content"] == "a"
    assert not reader.stopped  # the unreadable third event is not parsed yet
    assert [e["choices"][0]["delta"]["content"] for e in events] == ["b"]
    assert reader.stopped
    with pytest.raises(MalformedResponseError, match="not a JSON object"):
        reader.check()
