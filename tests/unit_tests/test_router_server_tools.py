"""The fake router answers tools and JSON schemas as a model would."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from tests.helpers import MODES, MakeLLM, run
from tests.router_answers import schema_value
from tests.router_server import RouterServer, Step


def get_weather(city: str) -> str:
    """Returns the weather of a city."""
    return f"Sunny in {city}."


def get_time(zone: str, hour24: bool) -> str:
    """Returns the time in a zone."""
    return "noon"


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]


def test_schema_values_are_drawn_from_the_prompt() -> None:
    schema = Person.model_json_schema()
    prompt = "Extract: Ada Lovelace died at 36."
    assert schema_value(schema, prompt) == {
        "name": "Ada Lovelace",
        "age": 36,
        "tags": ["Ada Lovelace"],
    }


def test_schema_values_follow_refs_enums_and_defaults() -> None:
    schema = {
        "type": "object",
        "properties": {
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "default": 3},
            "place": {"anyOf": [{"$ref": "#/$defs/Place"}, {"type": "null"}]},
        },
        "$defs": {"Place": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
    }
    assert schema_value(schema, "no numbers") == {
        "unit": "celsius",
        "days": 3,
        "place": {"ok": True},
    }


@pytest.mark.parametrize("mode", MODES)
async def test_a_request_with_tools_gets_a_call_of_the_first_tool(
    make_llm: MakeLLM, mode: str
) -> None:
    llm = make_llm().bind_tools([get_weather, get_time])
    message = await run(llm, mode, "What is the weather in Paris?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("mode", MODES)
async def test_a_named_tool_choice_is_the_tool_called(make_llm: MakeLLM, mode: str) -> None:
    llm = make_llm().bind_tools([get_weather, get_time], tool_choice="get_time")
    message = await run(llm, mode, "Time in Tokyo?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_time", {"zone": "Tokyo", "hour24": True})
    ]


async def test_tool_choice_none_gets_text(make_llm: MakeLLM) -> None:
    message = await run(make_llm().bind_tools([get_weather], tool_choice="none"), "invoke", "Hi")
    assert message.tool_calls == []
    assert message.content == "Hello from together."


async def test_after_a_tool_result_the_answer_is_its_text(make_llm: MakeLLM) -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}
    history = [
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("Sunny in Paris.", tool_call_id="call_1"),
    ]
    message = await run(make_llm().bind_tools([get_weather]), "invoke", history)
    assert message.tool_calls == []
    assert message.content == "Sunny in Paris."


@pytest.mark.parametrize("mode", MODES)
async def test_a_json_schema_request_gets_matching_json(make_llm: MakeLLM, mode: str) -> None:
    structured = make_llm().with_structured_output(Person)
    person = await run(structured, mode, "Extract: Ada Lovelace died at 36.", last=True)
    assert person == Person(name="Ada Lovelace", age=36, tags=["Ada Lovelace"])


async def test_json_mode_gets_an_object_with_the_answer(make_llm: MakeLLM) -> None:
    message = await run(make_llm(), "invoke", "Hi", response_format={"type": "json_object"})
    assert json.loads(message.content) == {"answer": "Hello from together."}


async def test_an_explicit_answer_text_wins_over_tools(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    router.script("together", Step.text("plain"))
    message = await run(make_llm().bind_tools([get_weather]), "invoke", "Weather in Paris?")
    assert message.content == "plain"
    assert message.tool_calls == []
