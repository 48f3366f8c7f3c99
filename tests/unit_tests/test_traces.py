"""What callback handlers and traces see: `ls_model_name` and `llm_output` (over loopback)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.outputs import LLMResult

from langchain_hfapi import ChatHuggingFaceAPI
from tests.conftest import TOKEN
from tests.helpers import MODES, MakeLLM, run
from tests.router_server import RouterServer, Step

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
QWEN = "Qwen/Qwen2.5-72B-Instruct"
GEMMA = "google/gemma-3-27b-it"
IMAGE = HumanMessage(
    content=[
        {"type": "text", "text": "What is this?"},
        {"type": "image", "url": "https://example.com/cat.png"},
    ]
)
USAGE = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}


class Recorder(BaseCallbackHandler):
    """Keeps the run metadata of each start and the `LLMResult` of each end."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.ended: list[LLMResult] = []

    def on_chat_model_start(self, *args: Any, metadata: Any = None, **kwargs: Any) -> None:
        self.started.append(dict(metadata or {}))

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.ended.append(response)


def unnamed_llm(router: RouterServer, **kwargs: Any) -> ChatHuggingFaceAPI:
    return ChatHuggingFaceAPI(
        api_key=TOKEN, router_url=router.url, hub_url=router.url, timeout=10, **kwargs
    )


@pytest.mark.parametrize("mode", MODES)
async def test_ls_model_name_is_the_repo_id_an_alias_resolves_to(
    make_llm: MakeLLM, mode: str
) -> None:
    recorder = Recorder()
    answer = await run(make_llm(model="llama-3.3-70b"), mode, config={"callbacks": [recorder]})
    assert recorder.started[0]["ls_model_name"] == LLAMA
    assert answer.response_metadata["model_name"] == LLAMA


async def test_ls_model_name_follows_a_per_call_model(make_llm: MakeLLM) -> None:
    recorder = Recorder()
    make_llm().invoke("hi", model="qwen-2.5-72b", config={"callbacks": [recorder]})
    assert recorder.started[0]["ls_model_name"] == QWEN


@pytest.mark.parametrize("mode", MODES)
async def test_ls_model_name_follows_the_switch_to_the_vision_model(
    router: RouterServer, mode: str
) -> None:
    recorder = Recorder()
    llm = unnamed_llm(router)
    answer = await run(llm, mode, [IMAGE], config={"callbacks": [recorder]})
    await run(llm, mode, "text only", config={"callbacks": [recorder]})
    assert answer.response_metadata["model_name"] == GEMMA
    assert [m["ls_model_name"] for m in recorder.started] == [GEMMA, LLAMA]


async def test_ls_model_name_keeps_a_named_model_when_images_are_sent(make_llm: MakeLLM) -> None:
    recorder = Recorder()
    make_llm().invoke([IMAGE], config={"callbacks": [recorder]})
    assert recorder.started[0]["ls_model_name"] == LLAMA


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_on_llm_end_gets_token_usage_model_and_provider_like_chat_openai(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.error(503))
    recorder = Recorder()
    llm = make_llm(model="llama-3.3-70b", max_retries=0)
    await run(llm, mode, config={"callbacks": [recorder]})
    (result,) = recorder.ended
    assert result.llm_output == {
        "token_usage": USAGE,
        "model_name": LLAMA,
        "provider": "fireworks-ai",
    }


@pytest.mark.parametrize("mode", MODES)
async def test_on_llm_end_of_a_streamed_call_gets_them_on_the_message(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    # LangChain passes no llm_output to on_llm_end for streamed calls (also
    # invoke with streaming=True); the summed message carries the same values.
    router.script("together", Step.error(503))
    recorder = Recorder()
    await run(make_llm(streaming=True, max_retries=0), mode, config={"callbacks": [recorder]})
    (result,) = recorder.ended
    meta = result.generations[0][0].message.response_metadata  # type: ignore[attr-defined]
    assert (meta["token_usage"], meta["model_name"], meta["provider"]) == (
        USAGE,
        LLAMA,
        "fireworks-ai",
    )


def test_summed_stream_carries_the_token_usage_invoke_carries(make_llm: MakeLLM) -> None:
    llm = make_llm()
    whole = llm.invoke("hi")
    streamed = [c for c in llm.stream("hi") if "token_usage" in c.response_metadata]
    assert whole.response_metadata["token_usage"] == USAGE
    assert [c.response_metadata["token_usage"] for c in streamed] == [USAGE]


def test_generate_sums_the_token_usage_of_a_batch(make_llm: MakeLLM) -> None:
    result = make_llm().generate([[HumanMessage("hi")], [HumanMessage("hello there")]])
    usage = result.llm_output["token_usage"] if result.llm_output else None
    assert usage == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}
    assert result.llm_output is not None
    assert (result.llm_output["model_name"], result.llm_output["provider"]) == (LLAMA, "together")
