"""Replays real router traffic (recorded Feb-Mar 2025) through the chat model.

The cassettes in `tests/cassettes/replay/` keep the recorded response bytes;
only the chat request URIs were moved to the unified `/v1/chat/completions`
endpoint (see the README there). Expected values are computed from the
recorded bodies themselves, so a test fails if any delta or usage is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import pytest
import vcr
import yaml
from langchain_core.messages import AIMessageChunk

from langchain_hfapi import (
    AuthenticationError,
    ChatHuggingFaceAPI,
    InputTooLongError,
)
from tests.helpers import total

E = TypeVar("E", bound=Exception)
CASSETTES = Path(__file__).parent.parent / "cassettes" / "replay"
REPLAY = vcr.VCR(
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query"],
)
QUESTION = [("system", "You are a helpful assistant."), ("user", "What is deep learning?")]
HF_INFERENCE = (
    "https://router.huggingface.co/hf-inference/models/meta-llama/Llama-3.1-8B-Instruct/v1"
)

# cassette -> (model, provider, base_url, expected provider, provider model id)
STREAMS = {
    "stream-fireworks-ai": (
        "llama-3.3-70b",
        None,
        None,
        "fireworks-ai",
        "accounts/fireworks/models/llama-v3p3-70b-instruct",
    ),
    "stream-together": (
        "meta-llama/Meta-Llama-3-8B-Instruct",
        None,
        None,
        "together",
        "meta-llama/Meta-Llama-3-8B-Instruct-Turbo",
    ),
    "stream-novita": (
        "llama-3.1-8b",
        "novita",
        None,
        "novita",
        "meta-llama/llama-3.1-8b-instruct",
    ),
    "stream-cerebras": ("llama-3.3-70b", ["cerebras"], None, "cerebras", "llama-3.3-70b"),
    "stream-hf-inference": ("meta-llama/Llama-3.1-8B-Instruct", None, HF_INFERENCE, None, None),
}
WHOLE = {
    "nostream-fireworks-ai": STREAMS["stream-fireworks-ai"],
    "nostream-together": STREAMS["stream-together"],
    "nostream-hf-inference": STREAMS["stream-hf-inference"],
}


def _recorded_chat(name: str) -> tuple[str, dict[str, Any]]:
    """Returns the recorded chat response body and headers of a cassette."""
    data = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text())
    response = next(i for i in data["interactions"] if i["request"]["method"] == "POST")["response"]
    headers = {k.lower(): v[0] for k, v in response["headers"].items()}
    return response["body"]["string"], headers


def _expected_stream(name: str) -> tuple[str, dict[str, int] | None, str | None]:
    """Computes text, last usage and finish reason straight from the recording."""
    body, _ = _recorded_chat(name)
    text, usage, finish = "", None, None
    for line in body.splitlines():
        if not line.startswith("data:") or "[DONE]" in line:
            continue
        event = json.loads(line[5:])
        usage = event.get("usage") or usage
        for choice in event.get("choices", []):
            text += (choice.get("delta") or {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
    return text, usage, finish


def _model(spec: tuple[Any, ...]) -> ChatHuggingFaceAPI:
    model, provider, base_url, _, _ = spec
    return ChatHuggingFaceAPI(
        model=model, provider=provider, base_url=base_url, api_key="hf_replay", max_tokens=20
    )


def _check_stream(name: str, chunks: list[AIMessageChunk]) -> None:
    _, _, _, provider, provider_model_id = STREAMS[name]
    text, usage, finish = _expected_stream(name)
    _, headers = _recorded_chat(name)
    full = total(chunks)
    assert full.content == text
    assert full.response_metadata["finish_reason"] == finish
    assert full.response_metadata.get("provider") == provider
    assert full.response_metadata.get("provider_model_id") == provider_model_id
    assert full.response_metadata.get("request_id") == headers.get("x-request-id")
    assert full.response_metadata["attempts"] == []
    if usage is None:
        assert full.usage_metadata is None
    else:
        assert full.usage_metadata is not None
        assert full.usage_metadata["input_tokens"] == usage["prompt_tokens"]
        assert full.usage_metadata["output_tokens"] == usage["completion_tokens"]
        assert full.usage_metadata["total_tokens"] == usage["total_tokens"]
    assert sum(1 for c in chunks if c.usage_metadata) == (0 if usage is None else 1)
    assert "model_name" in chunks[0].response_metadata  # attribution comes first


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_replayed_stream_gives_every_recorded_token_and_usage_once(name: str) -> None:
    with REPLAY.use_cassette(str(CASSETTES / f"{name}.yaml")):
        chunks = list(_model(STREAMS[name]).stream(QUESTION))
    _check_stream(name, chunks)


@pytest.mark.parametrize("name", sorted(STREAMS))
async def test_replayed_astream_gives_every_recorded_token_and_usage_once(name: str) -> None:
    with REPLAY.use_cassette(str(CASSETTES / f"{name}.yaml")):
        chunks = [c async for c in _model(STREAMS[name]).astream(QUESTION)]
    _check_stream(name, chunks)


@pytest.mark.parametrize("name", sorted(WHOLE))
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_replayed_invoke_returns_recorded_answer_with_attribution(
    name: str, mode: str
) -> None:
    body, headers = _recorded_chat(name)
    recorded = json.loads(body)
    llm = _model(WHOLE[name])
    with REPLAY.use_cassette(str(CASSETTES / f"{name}.yaml")):
        message = llm.invoke(QUESTION) if mode == "sync" else await llm.ainvoke(QUESTION)
    assert message.content == recorded["choices"][0]["message"]["content"]
    meta = message.response_metadata
    assert meta.get("id") == (recorded["id"] or None)  # TGI sends an empty id
    assert meta["finish_reason"] == recorded["choices"][0]["finish_reason"]
    assert meta.get("provider") == WHOLE[name][3]
    assert meta.get("request_id") == headers.get("x-request-id")
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == recorded["usage"]["total_tokens"]


def test_stream_and_invoke_report_the_same_metadata_keys() -> None:
    spec = STREAMS["stream-fireworks-ai"]
    with REPLAY.use_cassette(str(CASSETTES / "stream-fireworks-ai.yaml")):
        streamed = total(list(_model(spec).stream(QUESTION)))
    with REPLAY.use_cassette(str(CASSETTES / "nostream-fireworks-ai.yaml")):
        whole = _model(spec).invoke(QUESTION)
    assert set(streamed.response_metadata) == set(whole.response_metadata)
    for key in ("model_provider", "model_name", "provider", "provider_model_id", "attempts"):
        assert streamed.response_metadata[key] == whole.response_metadata[key]


def _replayed_error(cassette: str, error: type[E], llm: ChatHuggingFaceAPI, prompt: str) -> E:
    """Invokes `llm` against a cassette and returns the `error` it must raise."""
    with REPLAY.use_cassette(str(CASSETTES / f"{cassette}.yaml")), pytest.raises(error) as info:
        llm.invoke(prompt)
    return info.value


def test_replayed_401_raises_authentication_error_with_request_id() -> None:
    llm = ChatHuggingFaceAPI(
        model="meta-llama/Meta-Llama-3-70B-Instruct",
        base_url="https://router.huggingface.co/hf-inference/models/meta-llama/Meta-Llama-3-70B-Instruct/v1",
        api_key="hf_invalid",
    )
    err = _replayed_error(
        "unprocessable_entity", AuthenticationError, llm, "please output 'Observation'"
    )
    assert err.status_code == 401
    assert "Invalid username or password." in str(err)
    assert (
        err.request_id
        == "Root=1-67dd4e3c-518bf5e21d7fbce349a32b38;8ce0a04b-8123-4a74-8340-3a454cc6b822"
    )
    assert "hf_invalid" not in str(err)


def test_replayed_tgi_validation_error_is_input_too_long() -> None:
    llm = ChatHuggingFaceAPI(
        model="google/flan-t5-xxl",
        base_url="https://router.huggingface.co/hf-inference/models/google/flan-t5-xxl",
        api_key="hf_replay",
    )
    err = _replayed_error("tgi-validation_error", InputTooLongError, llm, "test")
    assert err.status_code == 422
    assert "must be <= 1512" in str(err)
    assert err.request_id == "JXgh_Lwucgb8AbjAKAXMn"
