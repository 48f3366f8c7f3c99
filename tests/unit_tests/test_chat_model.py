"""ChatHuggingFaceAPI end to end against the loopback router: requests and answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_hfapi import (
    ChatHuggingFaceAPI,
    MissingAuthError,
    ModelNotSupportedError,
    ProviderInfo,
)
from tests.conftest import TOKEN
from tests.helpers import MakeLLM, sent_body, total
from tests.router_server import RouterServer

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"


def test_invoke_uses_first_live_provider_of_the_mapping(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    message = make_llm().invoke("hi")
    assert message.content == "Hello from together."
    meta = message.response_metadata
    assert meta["model_provider"] == "huggingface"
    assert meta["model_name"] == LLAMA
    assert meta["provider"] == "together"
    assert meta["provider_model_id"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert meta["request_id"].startswith("req-")
    assert meta["attempts"] == []
    assert meta["finish_reason"] == "stop"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 3
    assert router.chat_requests()[0].path == "/v1/chat/completions"


def test_request_body_puts_model_first_and_sends_only_set_parameters(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    make_llm(temperature=0, max_tokens=50, seed=7).invoke("hi")
    raw = router.chat_requests()[0].body
    assert raw.startswith(b'{"model": "meta-llama/Llama-3.3-70B-Instruct:together"')
    body = sent_body(router)
    assert body["temperature"] == 0
    assert body["max_tokens"] == 50
    assert body["seed"] == 7
    for unset in ("top_p", "frequency_penalty", "presence_penalty", "logit_bias", "stop"):
        assert unset not in body
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["stream"] is False


def test_headers_carry_token_bill_to_and_default_headers(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    make_llm(bill_to="my-org", default_headers={"X-Test": "1"}).invoke("hi")
    headers = router.chat_requests()[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-hf-bill-to"] == "my-org"
    assert headers["x-test"] == "1"
    assert headers["user-agent"].startswith("langchain-hfapi/")
    hub = next(r for r in router.requests if r.route == "hub")
    assert hub.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-hf-bill-to" not in hub.headers


def test_stream_puts_attribution_first_and_usage_once_at_the_end(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    chunks = list(make_llm().stream("hi"))
    assert chunks[0].content == ""
    info = ProviderInfo.from_message(chunks[0])
    assert (info.model, info.provider) == (LLAMA, "together")
    assert sum(1 for c in chunks if "model_name" in c.response_metadata) == 1
    assert [c for c in chunks if c.usage_metadata] == [chunks[-1]]
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert chunks[-1].chunk_position == "last"
    full = total(chunks)
    assert full.content == "Hello from together."
    assert sent_body(router)["stream_options"] == {"include_usage": True}


async def test_chunks_between_first_and_last_carry_only_their_text(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm()
    for chunks in (list(llm.stream("hi")), [c async for c in llm.astream("hi")]):
        middle = chunks[1:-1]
        assert middle and all(c.content for c in middle)
        assert [c.response_metadata for c in middle] == [{} for _ in middle]
        assert total(chunks).response_metadata["model_provider"] == "huggingface"


def test_summed_stream_metadata_equals_invoke_metadata(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm()
    whole = llm.invoke("hi")
    streamed = total(list(llm.stream("hi")))
    different = {"id", "request_id"}
    assert {k: v for k, v in streamed.response_metadata.items() if k not in different} == {
        k: v for k, v in whole.response_metadata.items() if k not in different
    }
    assert streamed.usage_metadata == whole.usage_metadata
    assert streamed.content == whole.content


async def test_async_invoke_and_stream_match_sync(make_llm: MakeLLM, router: RouterServer) -> None:
    llm = make_llm()
    whole = await llm.ainvoke("hi")
    chunks = [c async for c in llm.astream("hi")]
    assert whole.content == total(chunks).content == "Hello from together."
    assert whole.response_metadata["provider"] == "together"
    assert router.hub_requests == 1  # the async client shares the sync client's cache


def test_stream_usage_false_does_not_ask_for_usage(make_llm: MakeLLM, router: RouterServer) -> None:
    list(make_llm(stream_usage=False).stream("hi"))
    assert "stream_options" not in sent_body(router)


def test_alias_and_per_call_model_override(make_llm: MakeLLM, router: RouterServer) -> None:
    llm = make_llm(model="llama-3.3-70b")
    assert llm.invoke("hi").response_metadata["model_name"] == LLAMA
    other = llm.invoke("hi", model="qwen-2.5-72b")
    assert other.response_metadata["model_name"] == "Qwen/Qwen2.5-72B-Instruct"
    assert sent_body(router)["model"] == "Qwen/Qwen2.5-72B-Instruct:together"


def test_policy_skips_the_hub_and_names_the_router_choice(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    message = make_llm(provider="cheapest").invoke("hi")
    assert router.hub_requests == 0
    assert sent_body(router)["model"] == f"{LLAMA}:cheapest"
    assert message.response_metadata["provider"] == "together"  # x-inference-provider


def test_model_suffix_pins_the_provider(make_llm: MakeLLM, router: RouterServer) -> None:
    message = make_llm(model=f"{LLAMA}:cerebras").invoke("hi")
    assert message.response_metadata["provider"] == "cerebras"
    assert message.response_metadata["provider_model_id"] == "llama-3.3-70b"


def test_base_url_skips_hub_and_sends_the_model_as_resolved(router: RouterServer) -> None:
    llm = ChatHuggingFaceAPI(model="tgi", base_url=f"{router.url}/custom/v1", api_key=None)
    message = llm.invoke("hi")
    assert message.content == "Hello from custom."
    request = router.chat_requests()[0]
    assert request.path == "/custom/v1/chat/completions"
    assert request.json is not None
    assert request.json["model"] == "tgi"
    assert "authorization" not in request.headers
    assert router.hub_requests == 0


def test_missing_token_raises_before_any_request(router: RouterServer) -> None:
    llm = ChatHuggingFaceAPI(model=LLAMA, router_url=router.url, hub_url=router.url)
    assert llm.api_key is None
    with pytest.raises(MissingAuthError, match="HF_TOKEN"):
        llm.invoke("hi")
    assert router.requests == []


def test_token_is_read_from_the_environment_and_token_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert ChatHuggingFaceAPI().api_key is not None
    monkeypatch.delenv("HF_TOKEN")
    (tmp_path / "token").write_text("hf_from_file\n")
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "token"))
    key = ChatHuggingFaceAPI().api_key
    assert key is not None
    assert key.get_secret_value() == "hf_from_file"


@pytest.mark.parametrize(
    "model", ["https://evil.example/v1", "org/../x", "a b/c", "org/name\n", "noslash", "org/"]
)
def test_invalid_model_is_refused_before_any_request(model: str, router: RouterServer) -> None:
    with pytest.raises(ValueError, match="not a Hugging Face model id"):
        ChatHuggingFaceAPI(model=model, api_key=TOKEN)
    llm = ChatHuggingFaceAPI(model=LLAMA, api_key=TOKEN, router_url=router.url, hub_url=router.url)
    with pytest.raises(ValueError, match="not a Hugging Face model id"):
        llm.invoke("hi", model=model)
    assert router.requests == []


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("sentence-transformers/all-MiniLM-L6-v2", "feature-extraction"),
        ("nobody/does-not-exist", "Repository Not Found"),
    ],
)
def test_model_without_chat_provider_is_not_supported(
    make_llm: MakeLLM, router: RouterServer, model: str, reason: str
) -> None:
    with pytest.raises(ModelNotSupportedError, match=reason):
        make_llm(model=model).invoke("hi")
    assert router.chat_requests() == []


def test_requested_provider_absent_from_mapping_is_explained(make_llm: MakeLLM) -> None:
    with pytest.raises(ModelNotSupportedError, match="groq"):
        make_llm(provider="groq").invoke("hi")


def test_unknown_constructor_kwargs_are_sent_with_a_warning(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    with pytest.warns(UserWarning, match="top_k"):
        llm = make_llm(top_k=5)
    llm.invoke("hi")
    assert sent_body(router)["top_k"] == 5


def test_per_call_stop_and_extra_body(make_llm: MakeLLM, router: RouterServer) -> None:
    make_llm(extra_body={"repetition_penalty": 1.1}).invoke("hi", stop=["from"])
    body = sent_body(router)
    assert body["stop"] == ["from"]
    assert body["repetition_penalty"] == 1.1


def test_max_input_chars_drops_oldest_turns_and_records_it(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    history = [("system", "be brief")]
    for turn in range(10):
        history += [("human", f"question {turn} " * 10), ("ai", f"answer {turn} " * 10)]
    history.append(("human", "last question"))
    message = make_llm(max_input_chars=400).invoke(history)
    sent = sent_body(router)["messages"]
    assert sent[0] == {"role": "system", "content": "be brief"}
    assert sent[-1] == {"role": "user", "content": "last question"}
    assert sent[1]["role"] == "user"
    assert len(sent) < len(history)
    trimmed = message.response_metadata["input_trimmed"]
    assert trimmed["dropped_messages"] == len(history) - len(sent)
    assert trimmed["trimmed_length"] <= 400 < trimmed["original_length"]


def test_images_with_no_model_named_use_the_default_vision_model(router: RouterServer) -> None:
    llm = ChatHuggingFaceAPI(api_key=TOKEN, router_url=router.url, hub_url=router.url)
    image = {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}
    llm.invoke([HumanMessage(content=[{"type": "text", "text": "what is it?"}, image])])
    body = sent_body(router)
    assert body["model"] == "google/gemma-3-27b-it:featherless-ai"
    part = body["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def test_tool_calls_round_trip_with_unicode_arguments(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": json.dumps({"city": "東京"})},
    }
    answer = {
        "id": "c1",
        "object": "chat.completion",
        "model": "x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    from tests.router_server import Step

    router.script("together", Step.completion(answer))
    message = make_llm().bind_tools([lookup], tool_choice="any").invoke("weather?")
    assert message.tool_calls == [
        {"name": "lookup", "args": {"city": "東京"}, "id": "call_1", "type": "tool_call"}
    ]
    body = sent_body(router)
    assert body["tool_choice"] == "required"
    assert body["tools"][0]["function"]["name"] == "lookup"
    follow_up = [HumanMessage("weather?"), message]
    make_llm().invoke(follow_up)
    sent = sent_body(router)["messages"][1]
    assert sent["tool_calls"][0]["function"]["arguments"] == '{"city": "東京"}'
    assert "東京".encode() in router.chat_requests()[-1].body


def lookup(city: str) -> str:
    """Looks up the weather of a city."""
    return city


def test_built_in_profiles_use_only_the_keys_langchain_core_declares() -> None:
    from langchain_core.language_models.model_profile import ModelProfile

    from langchain_hfapi._profiles import PROFILES

    declared = ModelProfile.__required_keys__ | ModelProfile.__optional_keys__
    assert all(set(profile) <= declared for profile in PROFILES.values())


def test_a_user_profile_with_an_unknown_key_warns() -> None:
    with pytest.warns(UserWarning, match="Unrecognized keys in model profile: \\['bogus'\\]"):
        ChatHuggingFaceAPI(model="llama-3.3-70b", api_key="hf_x", profile={"bogus": 1})
