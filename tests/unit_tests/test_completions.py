"""Tests for answer conversion, whole and streamed (`langchain_hfapi._completions`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_hfapi._completions import MODEL_PROVIDER, completion_to_message
from langchain_hfapi._sse import iter_sse_data
from langchain_hfapi._stream_converter import StreamConverter
from langchain_hfapi.errors import MalformedResponseError
from tests.helpers import total

DATA = Path(__file__).resolve().parents[1] / "data"
META = {"model_name": "org/model", "provider": "together", "request_id": "r-1"}


def body(message: dict[str, Any], finish: str | None = "stop", **top: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish}
    if "logprobs" in top:
        choice["logprobs"] = top.pop("logprobs")
    return {"id": "cmpl-1", "object": "chat.completion", "choices": [choice], **top}


def ev(
    delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any
) -> dict[str, Any]:
    """One `chat.completion.chunk` event; `choices=[]` via `no_choices=True`."""
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    if "logprobs" in top:
        choice["logprobs"] = top.pop("logprobs")
    choices = [] if top.pop("no_choices", False) else [choice]
    return {"id": "cmpl-1", "object": "chat.completion.chunk", "choices": choices, **top}


def run_stream(events: list[dict[str, Any]], meta: dict[str, Any] = META) -> list[AIMessageChunk]:
    converter = StreamConverter(meta)
    chunks = [converter.start()]
    chunks += [c for c in map(converter.convert, events) if c is not None]
    chunks.append(converter.finish())
    return chunks


def assert_same_as_whole(chunks: list[AIMessageChunk], whole: dict[str, Any]) -> None:
    streamed, expected = total(chunks), completion_to_message(whole, META)
    assert streamed.response_metadata == expected.response_metadata
    assert streamed.content == expected.content
    assert streamed.tool_calls == expected.tool_calls
    assert streamed.additional_kwargs == expected.additional_kwargs
    assert streamed.usage_metadata == expected.usage_metadata
    assert sum(c.usage_metadata is not None for c in chunks) == (whole.get("usage") is not None)


def call(call_id: str, name: str, arguments: Any, **function: Any) -> dict[str, Any]:
    """An OpenAI tool call of a whole answer."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments, **function},
    }


def frag(
    index: int, args: Any, call_id: str | None = None, name: str | None = None, **delta: Any
) -> dict[str, Any]:
    """A stream event carrying one tool-call fragment; id, type and name only when given."""
    piece: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id is not None:
        piece.update(id=call_id, type="function")
    if name is not None:
        piece["function"]["name"] = name
    return ev({**delta, "tool_calls": [piece]})


def usage_md(inp: int, out: int, tot: int) -> dict[str, int]:
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": tot}


USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
CALL = call("call_1", "get_weather", '{"city": "Zürich"}')


# --- completion_to_message ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "usage", "extra"),
    [
        ("fireworks-ai", (46, 586, 632), {"id": "2fd15a30-af2d-4296-89ec-a89b08a65b47"}),
        ("together", (26, 597, 623), {"id": "9115d3daeab10608"}),
        ("hf-inference", (46, 579, 625), {"system_fingerprint": "3.2.1-native"}),
    ],
)
def test_recorded_whole_answers(provider: str, usage: tuple[int, int, int], extra: dict) -> None:
    raw = json.loads((DATA / "completions" / f"{provider}.json").read_text(encoding="utf-8"))
    message = completion_to_message(raw, META)
    assert message.content == raw["choices"][0]["message"]["content"]
    assert message.tool_calls == [] and message.invalid_tool_calls == []
    assert message.usage_metadata == usage_md(*usage)
    assert message.response_metadata == {
        "model_provider": MODEL_PROVIDER,
        **META,
        "finish_reason": "stop",
        **extra,
    }


def test_null_content_becomes_empty_string() -> None:
    assert completion_to_message(body({"role": "assistant", "content": None}), META).content == ""


def test_tool_calls_with_string_dict_null_and_empty_arguments() -> None:
    calls = [
        CALL,
        call("0", "tgi", {"city": "Genève"}, description=None),
        call("c3", "no_args", "null"),
        call("c4", "empty", ""),
        {"id": "c5", "type": "function", "function": {"name": "missing"}},
    ]
    answer = body({"content": None, "tool_calls": calls}, "tool_calls")
    message = completion_to_message(answer, META)
    assert [(c["name"], c["args"], c["id"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Zürich"}, "call_1"),
        ("tgi", {"city": "Genève"}, "0"),
        ("no_args", {}, "c3"),
        ("empty", {}, "c4"),
        ("missing", {}, "c5"),
    ]
    assert message.invalid_tool_calls == []


def test_invalid_json_arguments_become_invalid_tool_calls() -> None:
    bad = call("c9", "f", '{"a": ')
    message = completion_to_message(body({"content": "", "tool_calls": [CALL, bad]}), META)
    assert [c["id"] for c in message.tool_calls] == ["call_1"]
    [invalid] = message.invalid_tool_calls
    assert (invalid["id"], invalid["name"], invalid["args"]) == ("c9", "f", '{"a": ')
    assert invalid["error"]


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_reasoning_spellings(key: str) -> None:
    message = completion_to_message(body({"content": "42", key: "Let me think."}), META)
    assert message.additional_kwargs == {"reasoning_content": "Let me think."}
    assert message.content == "42"


@pytest.mark.parametrize("value", ["", None, {"text": "x"}])
def test_empty_or_non_string_reasoning_is_dropped(value: object) -> None:
    message = completion_to_message(body({"content": "x", "reasoning": value}), META)
    assert message.additional_kwargs == {}


def test_usage_details_cached_and_reasoning_tokens() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 64},
        "completion_tokens_details": {"reasoning_tokens": 30},
    }
    message = completion_to_message(body({"content": "x"}, usage=usage), META)
    assert message.usage_metadata == {
        **usage_md(100, 50, 150),
        "input_token_details": {"cache_read": 64},
        "output_token_details": {"reasoning": 30},
    }


def test_usage_without_total_or_with_null_details() -> None:
    usage = dict.fromkeys(("prompt_tokens_details", "completion_tokens_details"))
    usage |= {"prompt_tokens": 7, "completion_tokens": 5}
    message = completion_to_message(body({"content": "x"}, usage=usage), META)
    assert message.usage_metadata == usage_md(7, 5, 12)
    assert completion_to_message(body({"content": "x"}), META).usage_metadata is None


def test_logprobs_kept_in_metadata() -> None:
    logprobs = {"content": [{"token": "Hi", "logprob": -0.01, "top_logprobs": []}]}
    message = completion_to_message(body({"content": "Hi"}, logprobs=logprobs), META)
    assert message.response_metadata["logprobs"] == logprobs
    no_logprobs = completion_to_message(body({"content": "Hi"}, logprobs=None), META)
    assert "logprobs" not in no_logprobs.response_metadata


NO_CHOICES = [{}, {"choices": []}, {"choices": None}, {"choices": ["x"]}, [], None, "text"]


@pytest.mark.parametrize("answer", [*NO_CHOICES, {"error": "boom"}])
def test_answer_without_choices_is_malformed(answer: Any) -> None:
    with pytest.raises(MalformedResponseError, match="answer has no choices"):
        completion_to_message(answer, META)


@pytest.mark.parametrize(
    "choice",
    [
        {"index": 0, "finish_reason": "stop"},
        {"index": 0, "text": "legacy", "finish_reason": "stop"},
    ],
)
def test_choice_without_message_is_malformed(choice: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        completion_to_message({"id": "x", "choices": [choice]}, META)


# --- StreamConverter equals the whole answer ---------------------------------------------------


def test_stream_usage_on_the_finish_chunk() -> None:
    events = [
        ev({"role": "assistant"}, system_fingerprint="fp_1"),
        ev({"content": "Hel"}, system_fingerprint="fp_1"),
        ev({"content": "lo"}, system_fingerprint="fp_1"),
        ev({}, "stop", usage=USAGE, system_fingerprint="fp_1"),
    ]
    whole = body({"content": "Hello"}, usage=USAGE, system_fingerprint="fp_1")
    assert_same_as_whole(run_stream(events), whole)


def test_stream_running_usage_on_every_chunk_counts_once() -> None:
    running = [
        {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n} for n in (1, 2, 3)
    ]
    events = [
        ev({"content": "a"}, usage=running[0]),
        ev({"content": "b"}, usage=running[1]),
        ev({"content": "c"}, "length", usage=running[2]),
    ]
    chunks = run_stream(events)
    assert_same_as_whole(chunks, body({"content": "abc"}, "length", usage=USAGE))
    assert total(chunks).usage_metadata == usage_md(12, 3, 15)


def test_stream_usage_in_a_separate_empty_choices_chunk() -> None:
    events = [ev({"content": "Hi"}), ev({}, "stop", usage=None), ev(no_choices=True, usage=USAGE)]
    chunks = run_stream(events)
    assert_same_as_whole(chunks, body({"content": "Hi"}, usage=USAGE))
    assert chunks[-1].usage_metadata == usage_md(12, 3, 15)


def test_stream_tool_call_fragments_add_up() -> None:
    events = [
        frag(0, "", "call_1", "get_weather", role="assistant"),
        frag(0, '{"ci'),
        frag(0, 'ty": "Zü'),
        frag(0, 'rich"}'),
        ev({}, "tool_calls", usage=USAGE),
    ]
    chunks = run_stream(events)
    whole = body({"content": None, "tool_calls": [CALL]}, "tool_calls", usage=USAGE)
    assert_same_as_whole(chunks, whole)
    expected = {
        "name": "get_weather",
        "args": {"city": "Zürich"},
        "id": "call_1",
        "type": "tool_call",
    }
    assert total(chunks).tool_calls == [expected]


def test_stream_tgi_style_tool_call_repeating_id_zero() -> None:
    # TGI 3.2: every delta repeats id "0", index 0, type and role; name only in the first.
    events = [
        frag(0, '{"location":', "0", "get_weather", role="assistant"),
        frag(0, ' "Paris"', "0", role="assistant"),
        frag(0, "}", "0", role="assistant"),
        ev({}, "stop"),
    ]
    for event in events:
        event["id"] = ""  # TGI sends an empty response id
    streamed = total(run_stream(events))
    expected = {
        "name": "get_weather",
        "args": {"location": "Paris"},
        "id": "0",
        "type": "tool_call",
    }
    assert streamed.tool_calls == [expected]
    whole = body(
        {"content": None, "tool_calls": [call("0", "get_weather", '{"location": "Paris"}')]}
    )
    whole["id"] = ""
    assert_same_as_whole(run_stream(events), whole)


def test_stream_two_parallel_tool_calls_by_index() -> None:
    events = [
        frag(0, "", "a", "add"),
        frag(1, '{"x"', "b", "mul"),
        frag(0, '{"x": 1,'),
        frag(1, ": 2, "),
        frag(0, ' "y": 2}'),
        frag(1, '"y": 3}'),
        ev({}, "tool_calls"),
    ]
    calls = [call("a", "add", '{"x": 1, "y": 2}'), call("b", "mul", '{"x": 2, "y": 3}')]
    assert_same_as_whole(
        run_stream(events), body({"content": None, "tool_calls": calls}, "tool_calls")
    )
    assert [(c["name"], c["args"]) for c in total(run_stream(events)).tool_calls] == [
        ("add", {"x": 1, "y": 2}),
        ("mul", {"x": 2, "y": 3}),
    ]


def test_stream_dict_arguments_from_old_tgi_are_serialized() -> None:
    events = [frag(0, {"city": "Genève"}, "0", "get_weather"), ev({}, "stop")]
    whole = body({"content": None, "tool_calls": [call("0", "get_weather", {"city": "Genève"})]})
    assert_same_as_whole(run_stream(events), whole)


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_stream_reasoning_before_content_never_in_content(key: str) -> None:
    events = [ev({key: "Think"}), ev({key: "ing..."}), ev({"content": "Answer"})]
    events.append(ev({"content": ": 4"}, "stop"))
    chunks = run_stream(events)
    streamed = total(chunks)
    assert streamed.content == "Answer: 4"
    assert streamed.additional_kwargs == {"reasoning_content": "Thinking..."}
    assert_same_as_whole(chunks, body({"content": "Answer: 4", key: "Thinking..."}))


def test_stream_logprobs_concatenate_to_the_whole_answer() -> None:
    tokens = [{"token": t, "logprob": -0.5, "bytes": None, "top_logprobs": []} for t in ("A", "B")]
    events = [
        ev({"content": "A"}, logprobs={"content": tokens[:1]}),
        ev({"content": "B"}, "stop", logprobs={"content": tokens[1:]}),
    ]
    assert_same_as_whole(run_stream(events), body({"content": "AB"}, logprobs={"content": tokens}))


def test_stream_start_and_metadata_without_id_or_finish_reason() -> None:
    first = StreamConverter(META).start()
    assert (first.content, first.usage_metadata) == ("", None)
    assert first.response_metadata == {"model_provider": MODEL_PROVIDER, **META}
    events = [{"object": "chat.completion.chunk", "choices": [{"delta": {"content": "x"}}]}]
    chunks = run_stream(events)
    assert total(chunks).response_metadata == first.response_metadata
    assert all(c.usage_metadata is None for c in chunks)


def test_stream_converter_skips_events_without_content() -> None:
    converter = StreamConverter(META)
    assert converter.convert(ev({"role": "assistant"})) is None
    assert converter.convert(ev({"role": "assistant", "content": ""})) is None
    assert converter.convert(ev(no_choices=True, usage=USAGE)) is None
    assert converter.convert(ev({}, "length")) is None
    assert converter.finish_reason == "length"
    last = converter.finish()
    assert (last.chunk_position, last.content) == ("last", "")


def test_stream_null_arguments_match_the_whole_answer() -> None:
    streamed = total(run_stream([frag(0, "null", "c1", "now"), ev({}, "tool_calls")]))
    assert streamed.tool_calls == [{"name": "now", "args": {}, "id": "c1", "type": "tool_call"}]


# --- the recorded provider streams ---------------------------------------------------------------

# usage on the finish chunk (fireworks-ai, together, cerebras), running (novita), none (TGI)
RECORDED_USAGE = {"fireworks-ai": (46, 20, 66), "together": (26, 20, 46), "novita": (46, 20, 66)}
RECORDED_USAGE |= {"cerebras": (46, 20, 66), "hf-inference": None}


@pytest.mark.parametrize("provider", sorted(RECORDED_USAGE))
def test_recorded_stream_converts_with_usage_once(provider: str) -> None:
    raw = (DATA / "sse" / f"{provider}.txt").read_bytes()
    events = [json.loads(d) for d in iter_sse_data([raw]) if d != b"[DONE]"]
    chunks = run_stream(events)
    streamed = total(chunks)
    expected_text = "".join(
        (e["choices"][0]["delta"].get("content") or "") for e in events if e["choices"]
    )
    assert streamed.content == expected_text and len(expected_text) > 50
    assert streamed.response_metadata["finish_reason"] == "length"
    usage = RECORDED_USAGE[provider]
    assert sum(c.usage_metadata is not None for c in chunks) == (usage is not None)
    if usage is not None:
        assert streamed.usage_metadata == usage_md(*usage)
