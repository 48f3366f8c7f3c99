"""Tool calling over the loopback router: binding tools, tool calls out and in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from tests.helpers import MODES, MakeLLM, chunk, completion, run, script_answer, sent_body, total
from tests.router_server import RouterServer, Step


def call(call_id: str, name: str, arguments: Any, index: int | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": call_id, "type": "function"}
    raw["function"] = {"name": name, "arguments": arguments}
    return raw if index is None else {"index": index, **raw}


def sent_call(call_id: str, arguments: str) -> dict[str, Any]:
    """A `lookup` tool call as the package sends it back in the history."""
    return {
        "type": "function",
        "id": call_id,
        "function": {"name": "lookup", "arguments": arguments},
    }


def fragment(index: int, arguments: str) -> dict[str, Any]:
    """A streamed tool-call delta carrying only a piece of the arguments."""
    return {"index": index, "function": {"arguments": arguments}}


class GetWeather(BaseModel):
    """Gets the weather of a city."""

    location: str = Field(description="The city")


class Search(TypedDict):
    """Searches the web."""

    query: str


def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiplies two integers."""
    return a * b


GET_TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Gets the time in a timezone.",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
}
ALL_TOOLS: list[Any] = [GetWeather, Search, add, multiply, GET_TIME]
NAMES = ["GetWeather", "Search", "add", "multiply", "get_time"]


# --- binding -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_kind_is_sent_in_openai_format_with_parallel_flag(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    llm = make_llm().bind_tools(ALL_TOOLS, parallel_tool_calls=False)
    message = await run(llm, mode, "hi")
    assert [call["name"] for call in message.tool_calls] == ["GetWeather"]  # the fake's choice
    sent = sent_body(router)
    assert [t["type"] for t in sent["tools"]] == ["function"] * 5
    assert [t["function"]["name"] for t in sent["tools"]] == NAMES
    assert sent["tools"][0]["function"]["parameters"]["properties"]["location"] == {
        "description": "The city",
        "type": "string",
    }
    assert sent["tools"][2]["function"]["description"] == "Adds two integers."
    assert sent["tools"][4] == GET_TIME
    assert sent["parallel_tool_calls"] is False
    assert "tool_choice" not in sent
    assert "strict" not in json.dumps(sent["tools"])


async def test_any_number_of_tools_can_be_bound(make_llm: MakeLLM, router: RouterServer) -> None:
    many = [{**GET_TIME, "function": {**GET_TIME["function"], "name": f"t{i}"}} for i in range(40)]
    await make_llm().bind_tools(many, parallel_tool_calls=True).ainvoke("hi")
    sent = sent_body(router)
    assert [t["function"]["name"] for t in sent["tools"]] == [f"t{i}" for i in range(40)]
    assert sent["parallel_tool_calls"] is True


@pytest.mark.parametrize("mode", MODES)
async def test_strict_reaches_the_function_schema_of_converted_tools(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    await run(make_llm().bind_tools([GetWeather, add, multiply], strict=True), mode, "hi")
    for sent in sent_body(router)["tools"]:
        assert sent["function"]["strict"] is True
        assert sent["function"]["parameters"]["additionalProperties"] is False


async def test_strict_reaches_an_openai_dict_tool(make_llm: MakeLLM, router: RouterServer) -> None:
    await make_llm().bind_tools([GET_TIME], strict=True).ainvoke("hi")
    assert sent_body(router)["tools"][0]["function"].get("strict") is True


FORCED = {"type": "function", "function": {"name": "add"}}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("add", FORCED),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, "required"),
        (FORCED, FORCED),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_tool_choice_is_translated_to_the_openai_value(
    make_llm: MakeLLM, router: RouterServer, mode: str, choice: Any, expected: Any
) -> None:
    await run(make_llm().bind_tools([add, multiply], tool_choice=choice), mode, "hi")
    assert sent_body(router)["tool_choice"] == expected


@pytest.mark.parametrize("choice", ["subtract", "Add"])
def test_tool_choice_naming_an_unbound_tool_raises_before_any_request(
    make_llm: MakeLLM, router: RouterServer, choice: str
) -> None:
    with pytest.raises(ValueError, match="names no bound tool"):
        make_llm().bind_tools([add, multiply], tool_choice=choice)
    assert router.requests == []


# --- tool calls out ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_tool_call_is_parsed_from_string_arguments_split_over_deltas(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    args = '{"location": "Paris"}'
    whole = completion(
        {"content": None, "tool_calls": [call("c_1", "GetWeather", args)]}, "tool_calls"
    )
    events = [
        chunk({"role": "assistant", "tool_calls": [call("c_1", "GetWeather", "", 0)]}),
        chunk({"tool_calls": [fragment(0, '{"loca')]}),
        chunk({"tool_calls": [fragment(0, 'tion": "Pa')]}),
        chunk({"tool_calls": [fragment(0, 'ris"}')]}),
        chunk({}, "tool_calls"),
    ]
    script_answer(router, mode, whole, events)
    message = await run(make_llm().bind_tools([GetWeather]), mode, "weather?")
    assert message.content == ""
    assert message.tool_calls == [
        {"name": "GetWeather", "args": {"location": "Paris"}, "id": "c_1", "type": "tool_call"}
    ]
    assert message.invalid_tool_calls == []
    assert message.response_metadata["finish_reason"] == "tool_calls"


async def test_streamed_tool_call_chunks_carry_the_name_only_in_the_first_delta(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    events = [
        chunk({"tool_calls": [call("c_1", "add", "", 0)]}),
        chunk({"tool_calls": [fragment(0, '{"a": 1,')]}),
        chunk({"tool_calls": [fragment(0, ' "b": 2}')]}, "tool_calls"),
    ]
    router.script("together", Step.stream(events))
    chunks = [c for c in make_llm().stream("hi") if c.tool_call_chunks]
    assert [c.tool_call_chunks for c in chunks] == [
        [{"name": "add", "args": "", "id": "c_1", "index": 0, "type": "tool_call_chunk"}],
        [{"name": None, "args": '{"a": 1,', "id": None, "index": 0, "type": "tool_call_chunk"}],
        [{"name": None, "args": ' "b": 2}', "id": None, "index": 0, "type": "tool_call_chunk"}],
    ]
    assert total(chunks).tool_calls[0]["args"] == {"a": 1, "b": 2}


@pytest.mark.parametrize("mode", MODES)
async def test_older_tgi_dict_arguments_and_repeated_ids_keep_finish_reason_stop(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    raw = {
        "function": {
            "arguments": {"location": "Paris"},
            "name": "get_weather",
            "description": None,
        },
        "id": "0",
        "type": "function",
    }
    tgi = {"index": 0, "id": "0", "type": "function"}
    events = [
        chunk({"role": "assistant", "tool_calls": [{**tgi, "function": {"name": "get_weather"}}]}),
        chunk({"tool_calls": [{**tgi, "function": {"arguments": '{"location":'}}]}),
        chunk({"tool_calls": [{**tgi, "function": {"arguments": ' "Paris"}'}}]}),
        chunk({}, "stop"),
    ]
    script_answer(router, mode, completion({"content": None, "tool_calls": [raw]}, "stop"), events)
    message = await run(make_llm(), mode, "weather?")
    assert message.content == ""
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"location": "Paris"}, "id": "0", "type": "tool_call"}
    ]
    assert message.response_metadata["finish_reason"] == "stop"


async def test_streamed_dict_arguments_are_serialized_into_the_chunk(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    delta = {"tool_calls": [call("0", "get_weather", {"location": "Zürich"}, 0)]}
    router.script("together", Step.stream([chunk(delta, "stop")]))
    message = total([c async for c in make_llm().astream("hi")])
    assert message.tool_calls[0]["args"] == {"location": "Zürich"}


@pytest.mark.parametrize("mode", MODES)
async def test_null_arguments_give_empty_args(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    whole = completion({"content": None, "tool_calls": [call("c_1", "now", "null")]}, "tool_calls")
    events = [chunk({"tool_calls": [call("c_1", "now", "null", 0)]}, "tool_calls")]
    script_answer(router, mode, whole, events)
    message = await run(make_llm(), mode, "time?")
    assert message.tool_calls == [{"name": "now", "args": {}, "id": "c_1", "type": "tool_call"}]
    assert message.invalid_tool_calls == []


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_json_arguments_become_invalid_tool_calls(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    bad = '{"location": Paris}'
    calls = [call("c_1", "GetWeather", bad), call("c_2", "add", '{"a": 1, "b": 2}')]
    events = [
        chunk({"tool_calls": [call("c_1", "GetWeather", bad, 0)]}),
        chunk({"tool_calls": [call("c_2", "add", '{"a": 1, "b": 2}', 1)]}, "tool_calls"),
    ]
    whole = completion({"content": None, "tool_calls": calls}, "tool_calls")
    script_answer(router, mode, whole, events)
    message = await run(make_llm(), mode, "hi")
    assert message.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "c_2", "type": "tool_call"}
    ]
    [invalid] = message.invalid_tool_calls
    assert (invalid["name"], invalid["id"], invalid["args"]) == ("GetWeather", "c_1", bad)


@pytest.mark.parametrize("mode", MODES)
async def test_two_parallel_tool_calls_interleaved_by_index_sum_to_complete_calls(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    calls = [call("c_a", "add", '{"a": 1, "b": 2}'), call("c_m", "multiply", '{"a": 3, "b": 4}')]
    events = [
        chunk({"role": "assistant", "tool_calls": [call("c_a", "add", "", 0)]}),
        chunk({"tool_calls": [call("c_m", "multiply", "", 1)]}),
        chunk({"tool_calls": [fragment(0, '{"a": 1,')]}),
        chunk({"tool_calls": [fragment(1, '{"a": 3,')]}),
        chunk({"tool_calls": [fragment(1, ' "b": 4}')]}),
        chunk({"tool_calls": [fragment(0, ' "b": 2}')]}),
        chunk({}, "tool_calls"),
    ]
    whole = completion({"content": None, "tool_calls": calls}, "tool_calls")
    script_answer(router, mode, whole, events)
    message = await run(make_llm().bind_tools([add, multiply]), mode, "hi")
    assert message.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "c_a", "type": "tool_call"},
        {"name": "multiply", "args": {"a": 3, "b": 4}, "id": "c_m", "type": "tool_call"},
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"


# --- tool calls in -----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_tool_call_history_is_sent_in_openai_shape_with_unicode_kept(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    history = [
        SystemMessage("be brief"),
        HumanMessage("weather in Tokyo and Paris?"),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"city": "東京"}, "id": "call_1"}]),
        ToolMessage("晴れ", tool_call_id="call_1"),
        AIMessage(
            [
                {"type": "text", "text": "Now Paris."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"city": "Paris"}},
            ]
        ),
        ToolMessage("city not found", tool_call_id="toolu_1", status="error"),
        HumanMessage("thanks"),
    ]
    await run(make_llm(), mode, history)
    tokyo = json.dumps({"city": "東京"}, ensure_ascii=False)
    assert sent_body(router)["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Tokyo and Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [sent_call("call_1", tokyo)]},
        {"role": "tool", "tool_call_id": "call_1", "content": "晴れ"},
        {
            "role": "assistant",
            "content": "Now Paris.",
            "tool_calls": [sent_call("toolu_1", '{"city": "Paris"}')],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "city not found"},
        {"role": "user", "content": "thanks"},
    ]
    raw = router.chat_requests()[-1].body
    assert "東京".encode() in raw
    assert "晴れ".encode() in raw
    assert b"\\u" not in raw


async def test_anthropic_blocks_are_not_duplicated_and_thinking_is_dropped(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"city": "Paris"}}
    turn = AIMessage(
        [{"type": "thinking", "thinking": "hmm", "signature": "sig"}, use],
        tool_calls=[{"name": "lookup", "args": {"city": "Paris"}, "id": "toolu_1"}],
    )
    await make_llm().ainvoke(
        [HumanMessage("q"), turn, ToolMessage("sunny", tool_call_id="toolu_1")]
    )
    assistant = sent_body(router)["messages"][1]
    assert assistant["content"] is None
    assert [c["id"] for c in assistant["tool_calls"]] == ["toolu_1"]
    assert "hmm" not in router.chat_requests()[-1].body.decode()
