"""Tests of the fake router/Hub server itself (plain httpx over loopback)."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.router_server import DEFAULT_MODELS, RouterServer, Step

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
QWEN = "Qwen/Qwen2.5-72B-Instruct"
CHAT = "/v1/chat/completions"
MAPPING_QUERY = {"expand[]": "inferenceProviderMapping"}


@pytest.fixture
def router_server() -> Iterator[RouterServer]:
    with RouterServer.running(models=DEFAULT_MODELS) as server:
        yield server


def chat_body(model: str = LLAMA, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": "Say hello to me"}]
    return {"model": model, "messages": messages, **extra}


def post_chat(
    server: RouterServer,
    path: str = CHAT,
    *,
    client: httpx.Client | None = None,
    **body: Any,
) -> httpx.Response:
    if client is not None:
        return client.post(server.url + path, json=chat_body(**body))
    return httpx.post(server.url + path, json=chat_body(**body), timeout=5)


def sse_data(text: str) -> list[Any]:
    """Parse ``data:`` events of an SSE body (JSON decoded, ``[DONE]`` kept)."""
    events: list[Any] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data:"):
                payload = line[5:].strip()
                events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def stream_chat(server: RouterServer, **body: Any) -> tuple[httpx.Response, str]:
    with httpx.stream(
        "POST", server.url + CHAT, json=chat_body(stream=True, **body), timeout=5
    ) as response:
        return response, response.read().decode()


def stream_until_reset(server: RouterServer) -> tuple[int, bytes]:
    """Stream a chat answer raw until the server resets; return status and bytes read."""
    status, received = 0, b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", server.url + CHAT, json=chat_body(stream=True), timeout=5) as response,
    ):
        status = response.status_code
        for chunk in response.iter_raw():
            received += chunk
    return status, received


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def dechunk(body: bytes) -> list[bytes]:
    """Split a chunked-encoded body into its chunks (terminator excluded)."""
    chunks: list[bytes] = []
    while True:
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


# ------------------------------------------------------------- default answers
def test_non_stream_default_answer_is_openai_completion_with_usage(
    router_server: RouterServer,
) -> None:
    response = post_chat(router_server)

    assert response.status_code == 200
    assert response.headers["x-inference-provider"] == "together"
    assert response.headers["x-request-id"] == "req-1"
    payload = response.json()
    assert payload["id"] == "chatcmpl-1"
    assert payload["object"] == "chat.completion"
    assert isinstance(payload["created"], int)
    assert payload["model"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert payload["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from together."},
            "finish_reason": "stop",
        }
    ]
    assert payload["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 3,
        "total_tokens": 7,
    }


def test_stream_default_answer_sends_role_tokens_finish_then_done(
    router_server: RouterServer,
) -> None:
    response, text = stream_chat(router_server, model=f"{QWEN}:nebius")

    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["x-inference-provider"] == "nebius"
    events = sse_data(text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant"},
        {"content": "Hello"},
        {"content": " from"},
        {"content": " nebius."},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 4 + ["stop"]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {"Qwen/Qwen2.5-72B-Instruct-fast"}
    assert len({c["id"] for c in chunks}) == 1


@pytest.mark.parametrize(
    ("style", "include_usage", "expected"),
    [
        ("last", False, [None, None, None, None, 3]),
        ("running", False, [0, 1, 2, 3, 3]),
        ("separate", False, [None] * 5),
        ("separate", True, [None, None, None, None, None, 3]),
        ("none", True, [None] * 5),
    ],
)
def test_stream_usage_style_controls_where_usage_appears(
    style: str, include_usage: bool, expected: list[int | None]
) -> None:
    with RouterServer.running(usage_style={"novita": style}) as server:
        extra: dict[str, Any] = {"model": f"{LLAMA}:novita"}
        if include_usage:
            extra["stream_options"] = {"include_usage": True}
        _, text = stream_chat(server, **extra)

    chunks = sse_data(text)[:-1]
    usages = [c.get("usage") for c in chunks]
    assert [u["completion_tokens"] if u else None for u in usages] == expected
    assert all(u["prompt_tokens"] == 4 for u in usages if u)
    if style == "separate" and include_usage:
        assert chunks[-1]["choices"] == []
        assert all("usage" in c and c["usage"] is None for c in chunks[:-1])
    if style in ("separate", "none") and expected[-1] is None:
        assert all("usage" not in c for c in chunks)


def test_max_tokens_truncates_answer_with_finish_reason_length(
    router_server: RouterServer,
) -> None:
    payload = post_chat(router_server, max_tokens=2).json()
    assert payload["choices"][0]["message"]["content"] == "Hello from"
    assert payload["choices"][0]["finish_reason"] == "length"
    assert payload["usage"]["completion_tokens"] == 2

    _, text = stream_chat(router_server, max_tokens=1)
    chunks = sse_data(text)[:-1]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == [
        None,
        "Hello",
        None,
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_stop_sequence_cuts_answer_before_first_occurrence(
    router_server: RouterServer,
) -> None:
    payload = post_chat(router_server, stop=["ether", " from"]).json()
    assert payload["choices"][0]["message"]["content"] == "Hello"
    assert payload["choices"][0]["finish_reason"] == "stop"
    payload = post_chat(router_server, stop="geth").json()
    assert payload["choices"][0]["message"]["content"] == "Hello from to"


def test_answers_config_and_list_content_word_counting() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,x"}},
            ],
        },
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    with RouterServer.running(answers={"featherless-ai": "A red  cat. "}) as server:
        body = {"model": "google/gemma-3-27b-it", "messages": messages}
        payload = httpx.post(server.url + CHAT, json=body).json()

    assert payload["choices"][0]["message"]["content"] == "A red  cat. "
    assert payload["usage"]["prompt_tokens"] == 5
    assert payload["usage"]["completion_tokens"] == 4  # "A", " red", "  cat.", " "


# --------------------------------------------------------------------- routing
@pytest.mark.parametrize(
    ("model", "provider"),
    [
        (LLAMA, "together"),
        (f"{LLAMA}:fastest", "together"),
        (f"{LLAMA}:cheapest", "together"),
        (f"{LLAMA}:preferred", "together"),
        (f"{LLAMA}:cerebras", "cerebras"),
        ("openai/gpt-oss-120b", "groq"),
        ("google/gemma-3-27b-it:scaleway", "scaleway"),
    ],
)
def test_router_picks_provider_by_suffix_or_first_live_conversational(
    router_server: RouterServer, model: str, provider: str
) -> None:
    response = post_chat(router_server, model=model)

    assert response.status_code == 200
    assert response.headers["x-inference-provider"] == provider
    assert response.json()["choices"][0]["message"]["content"] == (f"Hello from {provider}.")
    assert [r.provider for r in router_server.chat_requests()] == [provider]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            f"{LLAMA}:groq",
            f"The requested model '{LLAMA}' is not supported by provider 'groq'.",
        ),
        (
            f"{LLAMA}:hf-inference",  # staging only
            f"The requested model '{LLAMA}' is not supported by provider 'hf-inference'.",
        ),
        (
            "nobody/nothing",
            "The requested model 'nobody/nothing' is not supported by any provider "
            "you have enabled.",
        ),
        (
            "sentence-transformers/all-MiniLM-L6-v2",
            "The requested model 'sentence-transformers/all-MiniLM-L6-v2' is not "
            "supported by any provider you have enabled.",
        ),
    ],
)
def test_router_rejects_unsupported_model_provider_pairs_with_400(
    router_server: RouterServer, model: str, message: str
) -> None:
    response = post_chat(router_server, model=model)

    assert response.status_code == 400
    assert "x-request-id" in response.headers
    assert response.json() == {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_supported",
        }
    }
    assert router_server.chat_requests()[0].provider is None


@pytest.mark.parametrize("path", ["/chat/completions", "/my-endpoint/v1/chat/completions"])
def test_base_url_routes_accept_any_model_as_custom_provider(
    router_server: RouterServer, path: str
) -> None:
    router_server.script("custom", Step.text("From a scripted base_url."))
    first = post_chat(router_server, path, model="tgi")
    second = post_chat(router_server, path, model="whatever/model")

    assert "x-inference-provider" not in first.headers
    assert first.json()["model"] == "tgi"
    assert first.json()["choices"][0]["message"]["content"] == ("From a scripted base_url.")
    assert second.json()["choices"][0]["message"]["content"] == "Hello from custom."
    assert [r.path for r in router_server.chat_requests("custom")] == [path, path]


def test_unknown_paths_methods_and_bodies_get_json_errors(
    router_server: RouterServer,
) -> None:
    assert httpx.get(router_server.url + "/nope").status_code == 404
    assert httpx.get(router_server.url + CHAT).status_code == 405
    assert httpx.post(router_server.url + "/v1/models").status_code == 405
    bad = httpx.post(router_server.url + CHAT, content=b"{not json")
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    no_model = httpx.post(router_server.url + CHAT, json={"messages": []})
    assert no_model.status_code == 400


def test_malformed_request_line_gets_400_and_connection_close(
    router_server: RouterServer,
) -> None:
    raw = raw_exchange(router_server.port, b"GARBAGE\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")


# ------------------------------------------------------------------------ auth
def test_require_token_rejects_missing_or_wrong_bearer_with_401() -> None:
    with RouterServer.running(require_token="hf_good") as server:
        missing = httpx.post(server.url + CHAT, json=chat_body())
        wrong = httpx.post(
            server.url + CHAT,
            json=chat_body(),
            headers={"Authorization": "Bearer hf_bad"},
        )
        good = httpx.post(
            server.url + CHAT,
            json=chat_body(),
            headers={"Authorization": "Bearer hf_good"},
        )

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid username or password."}
        assert response.headers["x-error-message"] == "Invalid username or password."
    assert good.status_code == 200


# ------------------------------------------------------------------ hub, models
def test_hub_returns_dict_mapping_when_expanded_and_counts_requests(
    router_server: RouterServer,
) -> None:
    url = f"{router_server.url}/api/models/{LLAMA}"
    expanded = httpx.get(url, params=MAPPING_QUERY).json()
    plain_expand = httpx.get(url, params={"expand": "inferenceProviderMapping"})
    not_expanded = httpx.get(url).json()

    assert expanded["id"] == LLAMA
    assert isinstance(expanded["_id"], str)
    mapping = expanded["inferenceProviderMapping"]
    assert list(mapping) == [
        "together",
        "fireworks-ai",
        "novita",
        "cerebras",
        "hf-inference",
    ]
    assert mapping["together"] == {
        "status": "live",
        "providerId": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "task": "conversational",
    }
    assert mapping["hf-inference"]["status"] == "staging"
    assert "inferenceProviderMapping" in plain_expand.json()
    assert "inferenceProviderMapping" not in not_expanded
    assert router_server.hub_requests == 3
    assert router_server.hub_requests_by_model == {LLAMA: 3}
    assert router_server.requests[0].query == {"expand[]": ["inferenceProviderMapping"]}


def test_hub_list_mapping_shape_has_provider_key() -> None:
    with RouterServer.running(mapping_shape="list") as server:
        url = f"{server.url}/api/models/{QWEN}"
        payload = httpx.get(url, params=MAPPING_QUERY).json()

    assert payload["inferenceProviderMapping"] == [
        {
            "provider": "together",
            "status": "live",
            "providerId": "Qwen/Qwen2.5-72B-Instruct-Turbo",
            "task": "conversational",
        },
        {
            "provider": "nebius",
            "status": "live",
            "providerId": "Qwen/Qwen2.5-72B-Instruct-fast",
            "task": "conversational",
        },
    ]


def test_hub_unknown_repo_is_404_repo_not_found(router_server: RouterServer) -> None:
    response = httpx.get(f"{router_server.url}/api/models/ghost/model", params=MAPPING_QUERY)

    assert response.status_code == 404
    assert response.headers["x-error-code"] == "RepoNotFound"
    assert response.json()["error"].startswith("Repository Not Found for url: ")
    assert router_server.hub_requests_by_model == {"ghost/model": 1}


def test_script_hub_steps_apply_in_order_then_default(
    router_server: RouterServer,
) -> None:
    router_server.script_hub(
        QWEN,
        Step.error(500, {"error": "Internal Error"}),
        Step.reset(),
        Step.delay(0.05),
    )
    url = f"{router_server.url}/api/models/{QWEN}"

    assert httpx.get(url, params=MAPPING_QUERY).status_code == 500
    with pytest.raises(httpx.TransportError):
        httpx.get(url, params=MAPPING_QUERY)
    started = time.monotonic()
    delayed = httpx.get(url, params=MAPPING_QUERY)
    assert time.monotonic() - started >= 0.05
    assert "nebius" in delayed.json()["inferenceProviderMapping"]
    assert httpx.get(url, params=MAPPING_QUERY).status_code == 200
    assert router_server.hub_requests == 4


def test_v1_models_lists_chat_models_with_providers(
    router_server: RouterServer,
) -> None:
    payload = httpx.get(router_server.url + "/v1/models").json()

    assert payload["object"] == "list"
    by_id = {model["id"]: model for model in payload["data"]}
    assert "sentence-transformers/all-MiniLM-L6-v2" not in by_id
    assert len(by_id) == len(DEFAULT_MODELS) - 1
    llama = by_id[LLAMA]
    assert llama["object"] == "model"
    assert llama["owned_by"] == "meta-llama"
    assert llama["architecture"]["input_modalities"] == ["text"]
    assert [p["provider"] for p in llama["providers"]][:2] == [
        "together",
        "fireworks-ai",
    ]
    assert llama["providers"][0] == {
        "provider": "together",
        "status": "live",
        "context_length": 131072,
        "supports_tools": True,
        "supports_structured_output": True,
    }
    gemma = by_id["google/gemma-3-27b-it"]
    assert gemma["architecture"]["input_modalities"] == ["text", "image"]


# ------------------------------------------------------------------- scripting
def test_script_steps_are_consumed_fifo_then_default_answer_resumes(
    router_server: RouterServer,
) -> None:
    router_server.script(
        "together",
        Step.error(429, {"error": "Too many requests"}, headers={"Retry-After": "1"}),
        Step.error(500, "upstream exploded"),
        Step.html(502, "<html><body>Bad Gateway</body></html>"),
    )
    assert router_server.pending_steps("together") == 3

    responses = [post_chat(router_server) for _ in range(4)]

    assert [r.status_code for r in responses] == [429, 500, 502, 200]
    assert responses[0].headers["retry-after"] == "1"
    assert responses[0].json() == {"error": "Too many requests"}
    assert responses[1].headers["content-type"] == "text/plain; charset=utf-8"
    assert responses[1].text == "upstream exploded"
    assert responses[2].headers["content-type"] == "text/html"
    assert responses[3].json()["choices"][0]["message"]["content"] == ("Hello from together.")
    assert all(r.headers["x-inference-provider"] == "together" for r in responses)
    assert router_server.pending_steps("together") == 0


def test_scripts_are_per_provider(router_server: RouterServer) -> None:
    router_server.script("cerebras", Step.error(503))

    assert post_chat(router_server).status_code == 200  # together: untouched
    assert post_chat(router_server, model=f"{LLAMA}:cerebras").status_code == 503
    assert post_chat(router_server, model=f"{LLAMA}:cerebras").status_code == 200


def test_step_headers_override_response_headers(router_server: RouterServer) -> None:
    router_server.script("together", Step(headers={"X-Inference-Provider": "liar"}))

    response = post_chat(router_server)

    assert response.headers["x-inference-provider"] == "liar"
    assert response.json()["choices"][0]["message"]["content"] == ("Hello from together.")


def test_custom_json_completion_step_is_served_verbatim(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.completion({"id": "x", "object": "weird"}))

    response = post_chat(router_server, stream=True)

    assert response.status_code == 200
    assert response.json() == {"id": "x", "object": "weird"}


def test_custom_events_step_sends_dicts_as_data_and_strings_raw(
    router_server: RouterServer,
) -> None:
    error_event = 'data: {"error": {"message": "boom", "http_status_code": 422}}\n\n'
    router_server.script(
        "together",
        Step.stream(
            [
                ": keep-alive\n\n",
                {"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
                'data:{"choices":[]}\r\n\r\n',
                "data: not json\n\n",
                error_event,
            ],
            done=False,
        ),
        Step.stream([{"a": 1}]),
    )

    _, first = stream_chat(router_server)
    _, second = stream_chat(router_server)

    assert first == (
        ": keep-alive\n\n"
        'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        'data:{"choices":[]}\r\n\r\n'
        "data: not json\n\n" + error_event
    )
    assert second == 'data: {"a":1}\n\ndata: [DONE]\n\n'


def test_answer_override_serves_large_unicode_answer(
    router_server: RouterServer,
) -> None:
    big = "é" * (5 * 1024 * 1024 // 2)  # ~5 MB of UTF-8
    router_server.script("together", Step.text(big), Step.text("naïve 世界 🎉"))

    payload = post_chat(router_server).json()
    _, text = stream_chat(router_server)

    assert payload["choices"][0]["message"]["content"] == big
    deltas = [c["choices"][0]["delta"].get("content", "") for c in sse_data(text)[:-1]]
    assert deltas == ["", "naïve", " 世界", " 🎉", ""]


def test_stream_json_for_stream_answers_stream_request_with_json(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step(stream_json_for_stream=True))

    response, text = stream_chat(router_server)

    assert response.headers["content-type"] == "application/json"
    assert json.loads(text)["object"] == "chat.completion"


def test_failure_rate_is_deterministic_for_a_seed(router_server: RouterServer) -> None:
    def run() -> list[int]:
        router_server.set_failure_rate("together", 0.5, seed=1234)
        with httpx.Client(timeout=5) as client:
            return [post_chat(router_server, client=client).status_code for _ in range(20)]

    first, second = run(), run()
    rng = random.Random(1234)
    expected = [503 if rng.random() < 0.5 else 200 for _ in range(20)]

    assert first == second == expected
    assert {200, 503} <= set(first)
    router_server.script("together", Step.text("scripted wins"))
    router_server.set_failure_rate("together", 1.0, status=502, seed=0)
    assert post_chat(router_server).status_code == 200
    failed = post_chat(router_server)
    assert failed.status_code == 502
    assert failed.json() == {"error": "Bad Gateway"}
    router_server.set_failure_rate("together", 0)
    assert post_chat(router_server).status_code == 200


def test_failure_rate_503_body_is_service_unavailable(
    router_server: RouterServer,
) -> None:
    router_server.set_failure_rate("groq", 1.0)

    response = post_chat(router_server, model="openai/gpt-oss-120b")

    assert response.status_code == 503
    assert response.json() == {"error": "Service Unavailable"}


# -------------------------------------------------------------- fault injection
def test_reset_before_headers_raises_transport_error(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.reset())

    with pytest.raises(httpx.TransportError):
        post_chat(router_server)
    assert post_chat(router_server).status_code == 200


def test_stream_reset_mid_body_closes_connection_after_n_bytes(
    router_server: RouterServer,
) -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": str(i)}}]} for i in range(5)]
    full = "".join(f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events)
    router_server.script("together", Step.stream(events, reset_after_bytes=70))

    status, received = stream_until_reset(router_server)

    assert status == 200
    assert received == full.encode()[:70]


def test_default_stream_reset_after_bytes_also_truncates(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.reset_after(100, trickle=True))

    _, received = stream_until_reset(router_server)

    assert len(received) == 100
    assert received.startswith(b'data: {"id":"chatcmpl-1"')


def test_fixed_body_reset_after_bytes_sends_truncated_json(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.reset_after(10))

    with pytest.raises(httpx.RemoteProtocolError):
        post_chat(router_server)


def test_trickle_sends_one_byte_chunks_that_reassemble_multibyte_text(
    router_server: RouterServer,
) -> None:
    answer = "héllo wörld 世界 🎉"
    router_server.script("together", Step.text(answer, trickle=True))
    router_server.script("together", Step.text(answer, trickle=True))

    _, text = stream_chat(router_server)
    body = json.dumps(chat_body(stream=True)).encode()
    raw = raw_exchange(
        router_server.port,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )

    chunks = sse_data(text)[:-1]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == (answer)
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    pieces = dechunk(chunked)
    assert len(pieces) > 500
    assert all(len(piece) == 1 for piece in pieces)
    assert "🎉".encode() in b"".join(pieces)


def test_first_byte_delay_triggers_client_read_timeout(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.delay(0.5), Step.delay(0.05))

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            router_server.url + CHAT,
            json=chat_body(),
            timeout=httpx.Timeout(5, read=0.1),
        )
    started = time.monotonic()
    assert post_chat(router_server).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_event_delay_spaces_out_sse_events(router_server: RouterServer) -> None:
    router_server.script("together", Step(event_delay=0.03))

    with httpx.stream(
        "POST", router_server.url + CHAT, json=chat_body(stream=True), timeout=5
    ) as response:
        arrivals = [time.monotonic() for line in response.iter_lines() if line.startswith("data:")]

    assert len(arrivals) == 6  # role, 3 tokens, finish, [DONE]
    assert arrivals[-1] - arrivals[0] >= 5 * 0.03 * 0.9


# ----------------------------------------------------------- connections, state
def test_keep_alive_reuses_one_connection_and_connection_close_does_not(
    router_server: RouterServer,
) -> None:
    with httpx.Client(base_url=router_server.url, timeout=5) as client:
        client.post(CHAT, json=chat_body())
        text = client.post(CHAT, json=chat_body(stream=True)).text
        closing = client.post(CHAT, json=chat_body(), headers={"Connection": "close"})
        client.post(CHAT, json=chat_body())

    assert sse_data(text)[-1] == "[DONE]"
    assert closing.headers["connection"] == "close"
    conns = [r.connection for r in router_server.requests]
    assert conns[0] == conns[1] == conns[2]
    assert conns[3] != conns[2]


def test_recorded_requests_capture_method_path_headers_and_body(
    router_server: RouterServer,
) -> None:
    httpx.post(
        router_server.url + CHAT + "?x=1",
        json=chat_body(temperature=0.5),
        headers={"Authorization": "Bearer hf_abc", "X-Custom": "Yes"},
    )

    (record,) = router_server.chat_requests("together")
    assert record.method == "POST"
    assert record.path == CHAT
    assert record.query == {"x": ["1"]}
    assert record.headers["authorization"] == "Bearer hf_abc"
    assert record.headers["x-custom"] == "Yes"
    assert json.loads(record.body) == record.json
    assert record.json["temperature"] == 0.5
    assert record.route == "chat"
    assert router_server.chat_requests("novita") == []


def test_reset_clears_scripts_requests_and_counters(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.error(500), Step.error(500))
    router_server.script_hub(LLAMA, Step.error(500))
    router_server.set_failure_rate("together", 1.0)
    post_chat(router_server)
    httpx.get(f"{router_server.url}/api/models/{LLAMA}")

    router_server.reset()

    assert router_server.requests == []
    assert router_server.hub_requests == 0
    assert router_server.pending_steps("together") == 0
    response = post_chat(router_server)
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-1"
    assert httpx.get(f"{router_server.url}/api/models/{LLAMA}").status_code == 200


def test_stop_closes_open_streams_and_idle_connections() -> None:
    before = {t for t in threading.enumerate() if t.name == "fake-router"}
    server = RouterServer().start()
    server.script("together", Step(event_delay=5))
    client = httpx.Client(base_url=server.url, timeout=5)
    errors: list[BaseException] = []
    started = threading.Event()

    def consume() -> None:
        try:
            with client.stream("POST", CHAT, json=chat_body(stream=True)) as response:
                for _ in response.iter_raw():
                    started.set()
        except httpx.TransportError as exc:
            errors.append(exc)

    with httpx.Client(base_url=server.url) as idle:
        idle.get("/v1/models")  # leaves an idle keep-alive connection behind
        thread = threading.Thread(target=consume)
        thread.start()
        assert started.wait(5)
        begun = time.monotonic()
        server.stop()
        thread.join(5)
    client.close()

    assert time.monotonic() - begun < 2
    assert len(errors) == 1
    assert {t for t in threading.enumerate() if t.name == "fake-router"} <= before
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v1/models")


async def test_two_hundred_concurrent_async_streams_complete() -> None:
    with RouterServer.running() as server:
        server.script("cerebras", *[Step(event_delay=0.005)] * 50)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10) as client:

            async def one(index: int) -> str:
                provider = ("together", "cerebras", "novita", "fireworks-ai")[index % 4]
                body = chat_body(model=f"{LLAMA}:{provider}", stream=True)
                async with client.stream("POST", CHAT, json=body) as response:
                    assert response.status_code == 200
                    text = "".join([part async for part in response.aiter_text()])
                chunks = sse_data(text)
                assert chunks[-1] == "[DONE]"
                return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])

            answers = await asyncio.gather(*(one(i) for i in range(200)))

        assert len(server.chat_requests()) == 200
        assert len({r.connection for r in server.requests}) == 200
    assert answers.count("Hello from cerebras.") == 50
    assert answers.count("Hello from together.") == 50


def test_cli_runs_in_foreground_and_prints_listening_line() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.router_server", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("fake router listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert httpx.post(url + CHAT, json=chat_body()).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)  # like Ctrl-C
        process.wait(5)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0


def test_bug_in_fake_answers_500_instead_of_hanging(
    router_server: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr("tests.router_script.catalogue", boom)

    response = httpx.get(router_server.url + "/v1/models", timeout=5)

    assert response.status_code == 500
    assert "fake router bug: KeyError('oops')" in response.json()["error"]
