"""`with_structured_output` over the loopback router, for every method and mode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from pydantic import BaseModel
from typing_extensions import TypedDict

from tests.helpers import MODES, STREAMING, MakeLLM, chunk, completion, run, sent_body
from tests.router_server import RouterServer, Step

ANSWER = '{"name": "Ann", "age": 3}'
METHODS = ["json_schema", "json_mode", "function_calling"]


def pieces(text: str, n: int = 3) -> list[str]:
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def script_text(router: RouterServer, mode: str, text: str) -> None:
    """Scripts `text` as the answer: whole, or as several content deltas."""
    if mode in STREAMING:
        events = [chunk({"content": p}) for p in pieces(text)] + [chunk({}, "stop")]
        router.script("together", Step.stream(events))
    else:
        router.script("together", Step.completion(completion({"content": text})))


def script_tool_call(router: RouterServer, mode: str, name: str, arguments: str) -> None:
    """Scripts one tool call: whole, or name first and arguments in pieces."""
    if mode in STREAMING:
        first = {"index": 0, "id": "c_1", "type": "function", "function": {"name": name}}
        rest = [{"index": 0, "function": {"arguments": p}} for p in pieces(arguments)]
        events = [chunk({"tool_calls": [first]})] + [chunk({"tool_calls": [r]}) for r in rest]
        router.script("together", Step.stream([*events, chunk({}, "tool_calls")]))
    else:
        raw = {"id": "c_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        message = {"content": None, "tool_calls": [raw]}
        router.script("together", Step.completion(completion(message, "tool_calls")))


def script_method_answer(router: RouterServer, mode: str, method: str) -> None:
    """Scripts ANSWER the way `method` expects it: as a `Person` tool call, or as text."""
    if method == "function_calling":
        script_tool_call(router, mode, "Person", ANSWER)
    else:
        script_text(router, mode, ANSWER)


class Person(BaseModel):
    name: str
    age: int


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int


PERSON_SCHEMA = {
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "type": "object",
}
JSON_SCHEMA = {"title": "Person", **PERSON_SCHEMA}
SCHEMAS = [
    pytest.param(Person, Person(name="Ann", age=3), id="pydantic"),
    pytest.param(PersonDict, {"name": "Ann", "age": 3}, id="typeddict"),
    pytest.param(JSON_SCHEMA, {"name": "Ann", "age": 3}, id="json-schema"),
]


# --- json_schema (default) ---------------------------------------------------


@pytest.mark.parametrize(("schema", "expected"), SCHEMAS)
@pytest.mark.parametrize("mode", MODES)
async def test_json_schema_is_the_default_and_parses_the_answer(
    make_llm: MakeLLM, router: RouterServer, mode: str, schema: Any, expected: Any
) -> None:
    script_text(router, mode, ANSWER)
    result = await run(make_llm().with_structured_output(schema), mode, "who?", last=True)
    assert result == expected
    assert type(result) is type(expected)
    sent = sent_body(router)
    spec = sent["response_format"]["json_schema"]
    assert sent["response_format"]["type"] == "json_schema"
    assert spec["name"] == ("PersonDict" if schema is PersonDict else "Person")
    assert spec["schema"] == PERSON_SCHEMA
    assert "strict" not in spec
    assert "tools" not in sent
    assert "tool_choice" not in sent


@pytest.mark.parametrize("schema", [Person, JSON_SCHEMA], ids=["pydantic", "json-schema"])
async def test_json_schema_request_is_exactly_name_and_schema(
    make_llm: MakeLLM, router: RouterServer, schema: Any
) -> None:
    script_text(router, "ainvoke", ANSWER)
    await make_llm().with_structured_output(schema, method="json_schema").ainvoke("who?")
    assert sent_body(router)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": PERSON_SCHEMA},
    }


async def test_undocumented_typeddict_sends_no_description(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    class Pet(TypedDict):
        name: str

    script_text(router, "ainvoke", '{"name": "Rex"}')
    assert await make_llm().with_structured_output(Pet).ainvoke("pet?") == {"name": "Rex"}
    assert "description" not in sent_body(router)["response_format"]["json_schema"]


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("mode", MODES)
async def test_json_schema_sends_strict_only_when_given(
    make_llm: MakeLLM, router: RouterServer, mode: str, strict: bool
) -> None:
    script_text(router, mode, ANSWER)
    llm = make_llm().with_structured_output(Person, method="json_schema", strict=strict)
    assert await run(llm, mode, "who?", last=True) == Person(name="Ann", age=3)
    spec = sent_body(router)["response_format"]["json_schema"]
    assert spec["strict"] is strict
    assert spec["name"] == "Person"


# --- json_mode ---------------------------------------------------------------


@pytest.mark.parametrize(("schema", "expected"), SCHEMAS)
@pytest.mark.parametrize("mode", MODES)
async def test_json_mode_sends_json_object_and_parses_the_answer(
    make_llm: MakeLLM, router: RouterServer, mode: str, schema: Any, expected: Any
) -> None:
    script_text(router, mode, ANSWER)
    llm = make_llm().with_structured_output(schema, method="json_mode")
    result = await run(llm, mode, "?", last=True)
    assert result == expected
    assert sent_body(router)["response_format"] == {"type": "json_object"}


def test_json_mode_with_strict_is_refused(make_llm: MakeLLM, router: RouterServer) -> None:
    with pytest.raises(ValueError, match="strict"):
        make_llm().with_structured_output(Person, method="json_mode", strict=True)
    assert router.requests == []


def test_unknown_method_is_refused(make_llm: MakeLLM) -> None:
    with pytest.raises(ValueError, match="Unknown method"):
        make_llm().with_structured_output(Person, method="xml")  # type: ignore[arg-type]


# --- function_calling --------------------------------------------------------


@pytest.mark.parametrize(("schema", "expected"), SCHEMAS)
@pytest.mark.parametrize("mode", MODES)
async def test_function_calling_forces_the_tool_without_parallel_calls(
    make_llm: MakeLLM, router: RouterServer, mode: str, schema: Any, expected: Any
) -> None:
    name = "PersonDict" if schema is PersonDict else "Person"
    script_tool_call(router, mode, name, ANSWER)
    llm = make_llm().with_structured_output(schema, method="function_calling")
    result = await run(llm, mode, "who?", last=True)
    assert result == expected
    assert type(result) is type(expected)
    sent = sent_body(router)
    assert [t["function"]["name"] for t in sent["tools"]] == [name]
    assert sent["tools"][0]["function"]["parameters"] == PERSON_SCHEMA
    assert sent["tool_choice"] == {"type": "function", "function": {"name": name}}
    assert sent["parallel_tool_calls"] is False
    assert "response_format" not in sent


async def test_function_calling_with_strict_marks_the_tool_strict(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    script_tool_call(router, "ainvoke", "Person", ANSWER)
    llm = make_llm().with_structured_output(Person, method="function_calling", strict=True)
    assert await llm.ainvoke("who?") == Person(name="Ann", age=3)
    function = sent_body(router)["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["additionalProperties"] is False


async def test_function_calling_obeys_disabled_parallel_tool_calls(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    script_tool_call(router, "ainvoke", "Person", ANSWER)
    llm = make_llm(disabled_params={"parallel_tool_calls": None})
    result = await llm.with_structured_output(Person, method="function_calling").ainvoke("who?")
    assert result == Person(name="Ann", age=3)
    sent = sent_body(router)
    assert "parallel_tool_calls" not in sent
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "Person"}}


# --- include_raw and request hygiene -----------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
async def test_include_raw_returns_raw_parsed_and_no_error(
    make_llm: MakeLLM, router: RouterServer, mode: str, method: str
) -> None:
    script_method_answer(router, mode, method)
    llm = make_llm().with_structured_output(Person, method=method, include_raw=True)  # type: ignore[arg-type]
    result = await run(llm, mode, "who?")
    assert set(result) == {"raw", "parsed", "parsing_error"}
    assert isinstance(result["raw"], AIMessage)
    assert result["raw"].response_metadata["provider"] == "together"
    assert result["parsed"] == Person(name="Ann", age=3)
    assert result["parsing_error"] is None


@pytest.mark.parametrize(
    "answer", ["not json at all", '{"name": "Ann", "age": "old"}'], ids=["not-json", "invalid"]
)
@pytest.mark.parametrize("mode", MODES)
async def test_include_raw_reports_a_malformed_answer_as_parsing_error(
    make_llm: MakeLLM, router: RouterServer, mode: str, answer: str
) -> None:
    script_text(router, mode, answer)
    llm = make_llm().with_structured_output(Person, include_raw=True)
    result = await run(llm, mode, "who?")
    assert result["raw"].content == answer
    assert result.get("parsed", "missing") is None
    assert isinstance(result["parsing_error"], OutputParserException)


async def test_without_include_raw_a_malformed_answer_raises(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    script_text(router, "ainvoke", '{"name": "Ann", "age": "old"}')
    with pytest.raises(OutputParserException):
        await make_llm().with_structured_output(Person).ainvoke("who?")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
async def test_ls_structured_output_format_is_not_sent(
    make_llm: MakeLLM, router: RouterServer, mode: str, method: str
) -> None:
    script_method_answer(router, mode, method)
    await run(make_llm().with_structured_output(Person, method=method), mode, "who?", last=True)  # type: ignore[arg-type]
    raw = router.chat_requests()[-1].body
    assert b"structured_output_format" not in raw
    expected = {"model", "messages", "stream"}
    expected |= {"stream_options"} if mode in STREAMING else set()
    if method == "function_calling":
        expected |= {"tools", "tool_choice", "parallel_tool_calls"}
    else:
        expected |= {"response_format"}
    assert set(sent_body(router)) == expected
    assert json.loads(raw)["messages"] == [{"role": "user", "content": "who?"}]
