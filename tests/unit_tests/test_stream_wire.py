"""Server-Sent Events as they arrive on a real socket, read through `stream`/`astream`.

The loopback router writes the bytes (framing variants, trickling, usage
placement, error events); the tests check the chunks the user gets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_hfapi.errors import InvalidRequestError, ProviderError
from tests.conftest import TOKEN
from tests.helpers import STREAMING, collect, total
from tests.router_server import RouterServer, Step

REPO = "meta-llama/Llama-3.3-70B-Instruct"
PROMPT = "Say hello to me"  # 4 prompt "tokens" for the fake router
WORDS = ["One", " two", " three."]


async def stream_all(llm: Any, mode: str) -> list[AIMessageChunk]:
    chunks, err = await collect(llm, mode, PROMPT)
    if err is not None:
        raise err
    return chunks


def event(
    content: str | None = None,
    *,
    role: str | None = None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    payload: dict[str, Any] = {
        "id": "chatcmpl-wire",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        payload["usage"] = usage
    return payload


def answer_events() -> list[dict[str, Any]]:
    usage = {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    return [
        event(role="assistant"),
        *[event(word) for word in WORDS],
        event(finish="stop", usage=usage),
    ]


def raw(payload: dict[str, Any], *, eol: str = "\n", space: bool = True) -> str:
    return "data:" + (" " if space else "") + json.dumps(payload) + eol + eol


def assert_answer(chunks: list[AIMessageChunk], text: str = "One two three.") -> None:
    msg = total(chunks)
    assert msg.content == text
    assert msg.response_metadata["provider"] == "together"
    assert msg.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("mode", STREAMING)
async def test_data_field_without_space_is_read(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.stream([raw(e, space=False) for e in answer_events()]))
    assert_answer(await stream_all(make_llm(), mode))


@pytest.mark.parametrize("mode", STREAMING)
@pytest.mark.parametrize("trickle", [False, True], ids=["whole", "trickle"])
async def test_crlf_line_endings_are_read(
    make_llm: Any, router: RouterServer, mode: str, trickle: bool
) -> None:
    events = [raw(e, eol="\r\n") for e in answer_events()] + ["data: [DONE]\r\n\r\n"]
    router.script("together", Step.stream(events, done=False, trickle=trickle))
    assert_answer(await stream_all(make_llm(), mode))


@pytest.mark.parametrize("mode", STREAMING)
async def test_comments_and_unknown_fields_are_ignored(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    first, *rest = answer_events()
    events: list[Any] = [": keep-alive\n\n", "event: message\nid: 1\nretry: 10\n" + raw(first)]
    for payload in rest:
        events += [": keep-alive\n\n", payload]
    router.script("together", Step.stream(events))
    assert_answer(await stream_all(make_llm(), mode))


@pytest.mark.parametrize("mode", STREAMING)
@pytest.mark.parametrize("trickle", [False, True], ids=["whole", "trickle"])
async def test_utf8_byte_order_mark_before_first_event_is_ignored(
    make_llm: Any, router: RouterServer, mode: str, trickle: bool
) -> None:
    _, first, *rest = answer_events()  # the BOM precedes the first content event
    router.script("together", Step.stream(["\ufeff" + raw(first), *rest], trickle=trickle))
    assert_answer(await stream_all(make_llm(), mode))


@pytest.mark.parametrize("mode", STREAMING)
async def test_event_split_over_several_data_lines_is_joined(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    first, *rest = answer_events()
    text = json.dumps(first)
    middle = text.index(",")
    split = f"data: {text[: middle + 1]}\ndata: {text[middle + 1 :]}\n\n"
    router.script("together", Step.stream([split, *rest]))
    assert_answer(await stream_all(make_llm(), mode))


@pytest.mark.parametrize("mode", STREAMING)
async def test_trickled_multibyte_utf8_arrives_intact(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.text("héllo 日本語 🎉", trickle=True))
    chunks = await stream_all(make_llm(), mode)
    assert [c.content for c in chunks if c.content] == ["héllo", " 日本語", " 🎉"]
    assert total(chunks).content == "héllo 日本語 🎉"


@pytest.mark.parametrize("mode", STREAMING)
@pytest.mark.parametrize("last_newline", [True, False], ids=["blank-line", "no-blank-line"])
async def test_stream_without_done_ends_cleanly(
    make_llm: Any, router: RouterServer, mode: str, last_newline: bool
) -> None:
    events: list[Any] = list(answer_events())
    if not last_newline:
        events[-1] = raw(events[-1]).rstrip("\n")
    router.script("together", Step.stream(events, done=False))
    chunks = await stream_all(make_llm(), mode)
    assert_answer(chunks)
    assert total(chunks).usage_metadata == {
        "input_tokens": 4,
        "output_tokens": 3,
        "total_tokens": 7,
    }


@pytest.mark.parametrize("mode", STREAMING)
@pytest.mark.parametrize("style", ["last", "running", "separate"])
async def test_usage_appears_once_with_right_totals_wherever_the_provider_puts_it(
    make_llm: Any,
    router: RouterServer,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    style: str,
) -> None:
    monkeypatch.setitem(router.usage_style, "together", style)
    chunks = await stream_all(make_llm(), mode)
    with_usage = [c for c in chunks if c.usage_metadata]
    assert len(with_usage) == 1
    expected = {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}
    assert with_usage[0].usage_metadata == expected
    assert total(chunks).usage_metadata == expected
    assert total(chunks).content == "Hello from together."


@pytest.mark.parametrize("mode", STREAMING)
async def test_no_usage_when_provider_sends_none(
    make_llm: Any, router: RouterServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setitem(router.usage_style, "together", "none")
    chunks = await stream_all(make_llm(), mode)
    assert [c for c in chunks if c.usage_metadata] == []
    assert total(chunks).content == "Hello from together."


@pytest.mark.parametrize("mode", STREAMING)
async def test_error_event_with_4xx_status_raises_invalid_request_at_once(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    error = {"message": "Input validation error: bad grammar", "http_status_code": 422}
    router.script("together", Step.stream([{"error": error}]))
    chunks, err = await collect(make_llm(), mode, PROMPT)
    assert type(err) is InvalidRequestError
    assert err.status_code == 422
    text = str(err)
    assert "bad grammar" in text
    for part in ("provider=together", f"model={REPO}", "status=422", "request_id=req-1"):
        assert part in text
    assert TOKEN not in text
    assert chunks == []
    assert [r.provider for r in router.chat_requests()] == ["together"]


def assert_failed_over(chunks: list[AIMessageChunk], error: str, status: int | None) -> None:
    msg = total(chunks)
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["provider"] == "fireworks-ai"
    attempts = [{"provider": "together", "error": error, "status_code": status}]
    assert msg.response_metadata["attempts"] == attempts


@pytest.mark.parametrize("mode", STREAMING)
async def test_error_string_event_before_any_token_fails_over(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.stream([event(role="assistant"), {"error": "boom"}]))
    chunks = await stream_all(make_llm(max_retries=0), mode)
    assert_failed_over(chunks, "ProviderError", 500)


@pytest.mark.parametrize("mode", STREAMING)
async def test_error_event_after_tokens_raises_without_repeating_them(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    events = [event(role="assistant"), event("One"), event(" two"), {"error": "boom"}]
    router.script("together", Step.stream(events))
    chunks, err = await collect(make_llm(), mode, PROMPT)
    assert isinstance(err, ProviderError)
    assert "boom" in str(err)
    assert "provider=together" in str(err)
    assert "request_id=req-1" in str(err)
    assert "".join(str(c.content) for c in chunks) == "One two"
    assert len(router.chat_requests()) == 1


@pytest.mark.parametrize("mode", STREAMING)
async def test_non_json_event_is_malformed_and_fails_over(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.stream(["data: this is not json\n\n"]))
    chunks = await stream_all(make_llm(max_retries=0), mode)
    assert_failed_over(chunks, "MalformedResponseError", None)


@pytest.mark.parametrize("mode", STREAMING)
async def test_json_body_answered_to_stream_request_is_read_as_one_event(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step(stream_json_for_stream=True))
    chunks = await stream_all(make_llm(max_retries=0), mode)
    msg = total(chunks)
    assert msg.content == "Hello from together."
    assert msg.response_metadata["provider"] == "together"
    assert msg.response_metadata["attempts"] == []
    assert msg.response_metadata["finish_reason"] == "stop"
    assert [c.content for c in chunks] == ["", "Hello from together.", ""]


@pytest.mark.parametrize("mode", STREAMING)
async def test_html_body_answered_to_stream_request_is_malformed_and_fails_over(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    page = b"<html><body>proxy says hi</body></html>"
    router.script("together", Step(body=page, content_type="text/html"))
    chunks = await stream_all(make_llm(max_retries=0), mode)
    assert_failed_over(chunks, "MalformedResponseError", 200)


@pytest.mark.parametrize("mode", STREAMING)
async def test_first_chunk_carries_provider_attribution(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    chunks = await stream_all(make_llm(), mode)
    meta = chunks[0].response_metadata
    assert meta["model_name"] == REPO
    assert meta["provider"] == "together"
    assert meta["provider_model_id"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert meta["request_id"] == "req-1"
    assert meta["attempts"] == []
    assert chunks[0].content == ""


@pytest.mark.parametrize(("whole", "streamed"), [("invoke", "stream"), ("ainvoke", "astream")])
async def test_summed_stream_has_same_metadata_as_invoke(
    make_llm: Any, router: RouterServer, whole: str, streamed: str
) -> None:
    router.script("together", Step.text("Same answer both ways."))
    router.script("together", Step.text("Same answer both ways."))
    llm = make_llm()
    msg = llm.invoke(PROMPT) if whole == "invoke" else await llm.ainvoke(PROMPT)
    summed = total(await stream_all(llm, streamed))
    assert summed.content == msg.content == "Same answer both ways."
    assert summed.usage_metadata == msg.usage_metadata

    def comparable(meta: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in meta.items() if k not in ("id", "request_id")}

    assert comparable(summed.response_metadata) == comparable(msg.response_metadata)
    assert set(summed.response_metadata) == set(msg.response_metadata)
    assert msg.response_metadata["request_id"] == "req-1"
    assert summed.response_metadata["request_id"] == "req-2"
