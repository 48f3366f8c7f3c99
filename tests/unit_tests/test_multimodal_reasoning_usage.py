"""Images, reasoning, usage, logprobs, `n`, profiles and disabled params over loopback."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_hfapi import ChatHuggingFaceAPI
from tests.conftest import TOKEN
from tests.helpers import (
    HEAD,
    MODES,
    STREAMING,
    MakeLLM,
    chunk,
    completion,
    run,
    script_answer,
    sent_body,
)
from tests.router_server import RouterServer, Step

GEMMA = "google/gemma-3-27b-it"
LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def usage_event(usage: dict[str, Any]) -> dict[str, Any]:
    """The separate usage-only event sent after the last choice."""
    return {**HEAD, "object": "chat.completion.chunk", "choices": [], "usage": usage}


def unnamed_llm(router: RouterServer) -> ChatHuggingFaceAPI:
    """A model built without naming a model (so images pick the vision default)."""
    return ChatHuggingFaceAPI(api_key=TOKEN, router_url=router.url, hub_url=router.url, timeout=10)


# --- images ------------------------------------------------------------------

DATA_URI = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
HTTP_URL = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "image", "base64": PNG, "mime_type": "image/png"}, DATA_URI),
        ({"type": "image", "url": "https://example.com/cat.png"}, HTTP_URL),
        ({**HTTP_URL, "image_url": {"url": HTTP_URL["image_url"]["url"], "detail": "low"}}, None),
    ],
    ids=["standard-base64", "standard-url", "openai-image-url"],
)
@pytest.mark.parametrize("mode", MODES)
async def test_images_with_no_model_named_go_to_the_default_vision_model(
    router: RouterServer, mode: str, block: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    router.script("featherless-ai", Step.text("A cat."))
    message = HumanMessage(content=[{"type": "text", "text": "what is it?"}, block])
    answer = await run(unnamed_llm(router), mode, [message])
    assert answer.content == "A cat."
    assert answer.response_metadata["model_name"] == GEMMA
    assert answer.response_metadata["provider"] == "featherless-ai"
    sent = sent_body(router)
    assert sent["model"] == f"{GEMMA}:featherless-ai"
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "what is it?"},
        block if expected is None else expected,
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_images_keep_an_explicitly_named_model(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    image = HumanMessage(content=[{"type": "image", "url": "https://example.com/cat.png"}])
    await run(make_llm(), mode, [image])
    assert sent_body(router)["model"] == f"{LLAMA}:together"
    vision = "meta-llama/Llama-3.2-11B-Vision-Instruct"
    await run(unnamed_llm(router), mode, [image], model=vision)
    assert sent_body(router)["model"] == f"{vision}:together"
    assert sent_body(router)["messages"][0]["content"] == [HTTP_URL]


async def test_text_only_requests_of_an_unnamed_model_use_the_default_model(
    router: RouterServer,
) -> None:
    await unnamed_llm(router).ainvoke("hi")
    assert sent_body(router)["model"] == f"{LLAMA}:together"


# --- reasoning ---------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
@pytest.mark.parametrize("mode", MODES)
async def test_reasoning_is_surfaced_apart_from_the_content(
    make_llm: MakeLLM, router: RouterServer, mode: str, field: str
) -> None:
    whole = completion({"content": "The answer is 42.", field: "Think first. Then answer."})
    events = [
        chunk({"role": "assistant", field: "Think "}),
        chunk({field: "first. "}),
        chunk({field: "Then answer."}),
        chunk({"content": "The answer "}),
        chunk({"content": "is 42."}),
        chunk({}, "stop"),
    ]
    script_answer(router, mode, whole, events)
    message = await run(make_llm(), mode, "question")
    assert message.content == "The answer is 42."
    assert message.additional_kwargs["reasoning_content"] == "Think first. Then answer."
    blocks = [
        {k: b[k] for k in ("type", "reasoning", "text") if k in b} for b in message.content_blocks
    ]
    assert blocks == [
        {"type": "reasoning", "reasoning": "Think first. Then answer."},
        {"type": "text", "text": "The answer is 42."},
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_reasoning_effort_is_sent(make_llm: MakeLLM, router: RouterServer, mode: str) -> None:
    await run(make_llm(model="openai/gpt-oss-120b", reasoning_effort="low"), mode, "hi")
    sent = sent_body(router)
    assert sent["reasoning_effort"] == "low"
    assert sent["model"] == "openai/gpt-oss-120b:groq"


@pytest.mark.parametrize("mode", MODES)
async def test_reasoning_in_history_is_not_sent_back(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script(
        "together", Step.completion(completion({"content": "42", "reasoning": "SECRET1"}))
    )
    llm = make_llm()
    first = llm.invoke("question")
    standard = AIMessage(
        [{"type": "reasoning", "reasoning": "SECRET2"}, {"type": "text", "text": "7"}]
    )
    anthropic = AIMessage(
        [
            {"type": "thinking", "thinking": "SECRET3", "signature": "s"},
            {"type": "text", "text": "8"},
        ]
    )
    history = [HumanMessage("question"), first, HumanMessage("and?"), standard, anthropic]
    await run(llm, mode, [*history, HumanMessage("thanks")])
    assert sent_body(router)["messages"][1:5:2] == [
        {"role": "assistant", "content": "42"},
        {"role": "assistant", "content": "7"},
    ]
    assert sent_body(router)["messages"][4] == {"role": "assistant", "content": "8"}
    assert b"SECRET" not in router.chat_requests()[-1].body


# --- usage and logprobs ------------------------------------------------------

USAGE = {
    "prompt_tokens": 20,
    "completion_tokens": 12,
    "total_tokens": 32,
    "prompt_tokens_details": {"cached_tokens": 16},
    "completion_tokens_details": {"reasoning_tokens": 9},
}


@pytest.mark.parametrize("separate", [True, False], ids=["separate-event", "on-last-chunk"])
@pytest.mark.parametrize("mode", MODES)
async def test_usage_metadata_carries_cache_and_reasoning_details(
    make_llm: MakeLLM, router: RouterServer, mode: str, separate: bool
) -> None:
    whole = {**completion({"content": "ok", "reasoning_content": "hm"}), "usage": USAGE}
    events = [chunk({"reasoning_content": "hm"}), chunk({"content": "ok"})]
    last = chunk({}, "stop")
    events += [last, usage_event(USAGE)] if separate else [{**last, "usage": USAGE}]
    script_answer(router, mode, whole, events)
    message = await run(make_llm(stream_usage=True), mode, "hi")
    assert message.usage_metadata == {
        "input_tokens": 20,
        "output_tokens": 12,
        "total_tokens": 32,
        "input_token_details": {"cache_read": 16},
        "output_token_details": {"reasoning": 9},
    }
    if mode in STREAMING:
        assert sent_body(router)["stream_options"] == {"include_usage": True}
    else:
        assert "stream_options" not in sent_body(router)


def token(text: str) -> dict[str, Any]:
    alternative = {"token": text.upper(), "logprob": -2.5, "bytes": None}
    return {
        "token": text,
        "logprob": -0.25,
        "bytes": list(text.encode()),
        "top_logprobs": [{"token": text, "logprob": -0.25, "bytes": None}, alternative],
    }


@pytest.mark.parametrize("per_call", [False, True], ids=["constructor", "per-call"])
@pytest.mark.parametrize("mode", MODES)
async def test_logprobs_are_sent_and_returned_in_response_metadata(
    make_llm: MakeLLM, router: RouterServer, mode: str, per_call: bool
) -> None:
    tokens = ["Hel", "lo", "!"]
    whole = completion({"content": "Hello!"}, logprobs={"content": [token(t) for t in tokens]})
    events = [chunk({"content": t}, logprobs={"content": [token(t)]}) for t in tokens]
    script_answer(router, mode, whole, [*events, chunk({}, "stop")])
    options: dict[str, Any] = {"logprobs": True, "top_logprobs": 2}
    llm = make_llm() if per_call else make_llm(**options)
    message = await run(llm, mode, "hi", **(options if per_call else {}))
    assert message.content == "Hello!"
    assert message.response_metadata["logprobs"] == {"content": [token(t) for t in tokens]}
    assert sent_body(router)["logprobs"] is True
    assert sent_body(router)["top_logprobs"] == 2


@pytest.mark.parametrize("via", ["kwarg", "model_kwargs"])
@pytest.mark.parametrize("mode", MODES)
async def test_n_above_one_is_refused_before_any_request(
    make_llm: MakeLLM, router: RouterServer, mode: str, via: str
) -> None:
    llm = make_llm(model_kwargs={"n": 2}) if via == "model_kwargs" else make_llm()
    per_call: dict[str, Any] = {"n": 2} if via == "kwarg" else {}
    with pytest.raises(ValueError, match="n must be 1"):
        await run(llm, mode, "hi", **per_call)
    assert router.requests == []


async def test_n_of_one_is_sent(make_llm: MakeLLM, router: RouterServer) -> None:
    await make_llm().ainvoke("hi", n=1)
    assert sent_body(router)["n"] == 1


# --- profiles and disabled params --------------------------------------------


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        ("openai/gpt-oss-120b", "reasoning_output", True),
        ("gpt-oss-120b", "reasoning_output", True),
        ("openai/gpt-oss-120b:groq", "reasoning_effort_levels", ["low", "medium", "high"]),
        (GEMMA, "image_inputs", True),
        (GEMMA, "tool_calling", False),
        (LLAMA, "tool_calling", True),
        (LLAMA, "reasoning_output", False),
        (LLAMA, "max_input_tokens", 131072),
    ],
)
def test_profile_of_built_in_models(
    make_llm: MakeLLM, router: RouterServer, model: str, key: str, value: Any
) -> None:
    profile = make_llm(model=model).profile
    assert profile is not None
    assert profile[key] == value  # type: ignore[literal-required]
    assert router.requests == []


@pytest.mark.parametrize("model", ["nobody/unknown-model", "nobody/unknown-model:together"])
def test_profile_is_none_for_unknown_models(make_llm: MakeLLM, model: str) -> None:
    assert make_llm(model=model).profile is None


def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@pytest.mark.parametrize("mode", MODES)
async def test_disabled_params_none_removes_the_field(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    llm = make_llm(disabled_params={"parallel_tool_calls": None})
    await run(llm.bind_tools([add], parallel_tool_calls=False, tool_choice="auto"), mode, "hi")
    sent = sent_body(router)
    assert "parallel_tool_calls" not in sent
    assert sent["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in sent["tools"]] == ["add"]


@pytest.mark.parametrize(("choice", "kept"), [("any", False), ("required", False), ("auto", True)])
@pytest.mark.parametrize("mode", MODES)
async def test_disabled_params_values_remove_only_those_values(
    make_llm: MakeLLM, router: RouterServer, mode: str, choice: str, kept: bool
) -> None:
    llm = make_llm(disabled_params={"tool_choice": ["required"]})
    await run(llm.bind_tools([add], tool_choice=choice, parallel_tool_calls=True), mode, "hi")
    sent = sent_body(router)
    assert ("tool_choice" in sent) is kept
    assert sent["parallel_tool_calls"] is True
