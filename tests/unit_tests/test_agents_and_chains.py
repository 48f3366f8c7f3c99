"""End-to-end use over the loopback router: agent loops, LCEL chains, batches."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from langchain_hfapi import ChatHuggingFaceAPI
from tests.helpers import MODES, STREAMING, MakeLLM, chunk, completion, run, sent_body, total
from tests.router_server import RouterServer, Step

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
FINAL = "It is sunny in Paris, 21 °C."
ARGS = '{"city": "Paris"}'


def tool_call_step(streaming: bool) -> Step:
    """The first answer: a call of `get_weather` (arguments in two pieces if streamed)."""
    if not streaming:
        raw = {"id": "call_w1", "type": "function", "function": {"name": "get_weather"}}
        raw["function"]["arguments"] = ARGS
        message = {"content": None, "tool_calls": [raw]}
        return Step.completion(completion(message, "tool_calls"))
    first = {"index": 0, "id": "call_w1", "type": "function", "function": {"name": "get_weather"}}
    pieces = [{"index": 0, "function": {"arguments": a}} for a in (ARGS[:9], ARGS[9:])]
    events = [chunk({"role": "assistant", "tool_calls": [first]})]
    events += [chunk({"tool_calls": [p]}) for p in pieces]
    return Step.stream([*events, chunk({}, "tool_calls")])


def text_step(streaming: bool, text: str = FINAL) -> Step:
    """A text answer (in three content deltas if streamed)."""
    if not streaming:
        return Step.completion(completion({"content": text}))
    third = -(-len(text) // 3)
    parts = [text[i : i + third] for i in range(0, len(text), third)]
    return Step.stream([chunk({"content": p}) for p in parts] + [chunk({}, "stop")])


def script_tool_call_then_answer(router: RouterServer, mode: str) -> None:
    """Scripts the two answers of an agent turn: the `get_weather` call, then FINAL."""
    streaming = mode in STREAMING
    router.script("together", tool_call_step(streaming), text_step(streaming))


@tool
def get_weather(city: str) -> str:
    """Gets the current weather of a city."""
    return f"sunny, 21 °C in {city}"


def assert_second_request_carries_the_tool_result(router: RouterServer) -> None:
    requests = router.chat_requests("together")
    assert len(requests) == 2
    first, second = (r.json for r in requests)
    assert first["messages"] == [{"role": "user", "content": "weather in Paris?"}]
    assert [t["function"]["name"] for t in second["tools"]] == ["get_weather"]
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "type": "function",
                    "id": "call_w1",
                    "function": {"name": "get_weather", "arguments": ARGS},
                }
            ],
        },
        {
            "role": "tool",
            "name": "get_weather",
            "tool_call_id": "call_w1",
            "content": "sunny, 21 °C in Paris",
        },
    ]
    assert "21 °C".encode() in requests[1].body


# --- agent loops -------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_manual_agent_loop_model_tool_model(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    script_tool_call_then_answer(router, mode)
    llm = make_llm().bind_tools([get_weather])
    messages: list[BaseMessage] = [HumanMessage("weather in Paris?")]
    ai = await run(llm, mode, messages)
    assert [c["name"] for c in ai.tool_calls] == ["get_weather"]
    messages.append(ai)
    for call in ai.tool_calls:
        result = (
            await get_weather.ainvoke(call) if mode.startswith("a") else get_weather.invoke(call)
        )
        assert isinstance(result, ToolMessage)
        messages.append(result)
    final = await run(llm, mode, messages)
    assert final.content == FINAL
    assert final.tool_calls == []
    assert final.response_metadata["provider"] == "together"
    assert_second_request_carries_the_tool_result(router)


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
@pytest.mark.parametrize("mode", MODES)
async def test_langgraph_react_agent_runs_the_tool_and_answers(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    streaming = mode in STREAMING
    script_tool_call_then_answer(router, mode)
    agent = create_react_agent(make_llm(), [get_weather])
    state = {"messages": [HumanMessage("weather in Paris?")]}
    tokens: list[Any] = []
    if mode == "invoke":
        result = agent.invoke(state)
    elif mode == "ainvoke":
        result = await agent.ainvoke(state)
    else:  # "messages" streams tokens, so the model is called with stream=True
        modes = ["messages", "values"]
        parts = (
            list(agent.stream(state, stream_mode=modes))
            if mode == "stream"
            else [p async for p in agent.astream(state, stream_mode=modes)]
        )
        tokens = [data[0] for kind, data in parts if kind == "messages"]
        result = [data for kind, data in parts if kind == "values"][-1]
    kinds = [type(m).__name__ for m in result["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    tool_message = result["messages"][2]
    assert (tool_message.tool_call_id, tool_message.name) == ("call_w1", "get_weather")
    assert result["messages"][-1].content == FINAL
    assert all(r.json["stream"] is streaming for r in router.chat_requests())
    if streaming:
        answer_chunks = [t for t in tokens if t.content and not isinstance(t, ToolMessage)]
        assert "".join(t.content for t in answer_chunks) == FINAL
    assert_second_request_carries_the_tool_result(router)


# --- LCEL chains -------------------------------------------------------------


def make_chain(llm: ChatHuggingFaceAPI) -> Runnable[dict[str, str], str]:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a {role}."), ("human", "{question}")]
    )
    return prompt | llm | StrOutputParser()


@pytest.mark.parametrize("mode", MODES)
async def test_prompt_model_parser_chain_returns_the_answer_text(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", text_step(mode in STREAMING))
    answer = await run(make_chain(make_llm()), mode, {"role": "forecaster", "question": "Paris?"})
    assert answer == FINAL
    assert sent_body(router)["messages"] == [
        {"role": "system", "content": "You are a forecaster."},
        {"role": "user", "content": "Paris?"},
    ]


async def test_astream_events_v2_streams_chunks_and_ends_with_attribution(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    router.script("together", text_step(True))
    chain = make_chain(make_llm())
    events = [e async for e in chain.astream_events({"role": "r", "question": "q"}, version="v2")]
    chunks = [e["data"]["chunk"] for e in events if e["event"] == "on_chat_model_stream"]
    assert len([c for c in chunks if c.content]) == 3
    assert total(chunks).content == FINAL
    [end] = [e for e in events if e["event"] == "on_chat_model_end"]
    output = end["data"]["output"]
    assert output.content == FINAL
    meta = output.response_metadata
    assert (meta["provider"], meta["model_name"]) == ("together", LLAMA)
    assert meta["provider_model_id"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert meta["finish_reason"] == "stop"
    assert meta["request_id"].startswith("req-")
    parser_chunks = [e["data"]["chunk"] for e in events if e["event"] == "on_parser_stream"]
    assert "".join(parser_chunks) == FINAL
    assert events[-1]["event"] == "on_chain_end"
    assert events[-1]["data"]["output"] == FINAL
    assert sent_body(router)["stream"] is True


# --- batches -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["batch", "abatch"])
async def test_batch_sends_one_request_per_input(
    make_llm: MakeLLM, router: RouterServer, method: str
) -> None:
    llm = make_llm()
    inputs = [f"question {i}" for i in range(5)]
    config = {"max_concurrency": 2}
    if method == "batch":
        answers = llm.batch(inputs, config=config)  # type: ignore[arg-type]
    else:
        answers = await llm.abatch(inputs, config=config)  # type: ignore[arg-type]
    assert all(isinstance(a, AIMessage) for a in answers)
    assert [a.content for a in answers] == ["Hello from together."] * 5
    assert {a.response_metadata["provider"] for a in answers} == {"together"}
    sent = sorted(r.json["messages"][0]["content"] for r in router.chat_requests())
    assert sent == inputs
    assert router.hub_requests == 1  # the provider mapping is looked up once


async def test_abatch_return_exceptions_keeps_the_good_answers(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    unsupported = [HumanMessage(content=[{"type": "video_url", "video_url": {"url": "x"}}])]
    answers = await make_llm().abatch(["fine", unsupported, "also fine"], return_exceptions=True)
    assert [type(a).__name__ for a in answers] == ["AIMessage", "ValueError", "AIMessage"]
    assert "video_url" in str(answers[1])
    assert len(router.chat_requests()) == 2
