"""Tests of the fake router server: default answers, usage styles, scripted steps, failure rates."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.router_server import DEFAULT_MODELS, RouterServer, Step
from tests.unit_tests.router_server_helpers import (
    CHAT,
    LLAMA,
    QWEN,
    post_chat,
    sse_data,
    stream_chat,
)


@pytest.fixture
def router_server() -> Iterator[RouterServer]:
    with RouterServer.running(models=DEFAULT_MODELS) as server:
        yield server


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
