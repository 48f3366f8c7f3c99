"""Any JSON where an answer, an event, an error body, a mapping or a model list
is expected gives a result or a typed error, never a bare exception."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from langchain_hfapi import HuggingFaceAPIError, MalformedResponseError
from langchain_hfapi._answers import decode_json
from langchain_hfapi._catalog import _model_ids
from langchain_hfapi._completions import completion_to_message
from langchain_hfapi._error_bodies import error_from_event, error_from_response
from langchain_hfapi._mapping import ProviderMapping, parse_mapping
from langchain_hfapi._stream_converter import StreamConverter
from langchain_hfapi._stream_events import EventReader

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["content", "choices", "message", "delta", "tool_calls", "error"])
)
KEYS = st.sampled_from(
    ["choices", "message", "delta", "content", "tool_calls", "function", "name", "arguments",
     "usage", "prompt_tokens", "finish_reason", "index", "id", "error", "message", "detail",
     "inferenceProviderMapping", "status", "providerId", "data", "reasoning", "type", "text"]
) | st.text(max_size=5)  # fmt: skip
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5)
)
FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True)


@FUZZ
@given(JSON)
def test_any_whole_answer_gives_a_message_or_a_malformed_error(body: Any) -> None:
    try:
        message = completion_to_message(body, {})
    except MalformedResponseError:
        return
    assert isinstance(message, AIMessage) and isinstance(message.content, str)


@FUZZ
@given(st.dictionaries(KEYS, JSON, max_size=5))
def test_any_stream_event_gives_a_chunk_or_a_malformed_error(event: dict[str, Any]) -> None:
    converter = StreamConverter({})
    try:
        converter.convert(event)
    except MalformedResponseError:
        return
    converter.finish()
    assert isinstance(converter.partial_message(), AIMessage)


@FUZZ
@given(JSON, st.integers(300, 599))
def test_any_error_body_gives_a_typed_error(body: Any, status: int) -> None:
    err = error_from_response(status, {}, json.dumps(body).encode())
    assert isinstance(err, HuggingFaceAPIError)
    assert err.status_code == status and len(err.message) <= 300


@FUZZ
@given(st.dictionaries(KEYS, JSON, min_size=1, max_size=5))
def test_any_error_event_gives_a_typed_error(event: dict[str, Any]) -> None:
    event["error"] = event.get("error") or "x"
    assert isinstance(error_from_event(event), HuggingFaceAPIError)


@FUZZ
@given(JSON)
def test_any_hub_or_models_answer_parses_to_entries_or_a_typed_error(data: Any) -> None:
    assert all(isinstance(e, ProviderMapping) for e in parse_mapping(data))
    try:
        models = _model_ids(data)
    except HuggingFaceAPIError:
        return
    assert all(isinstance(m, str) for m in models)


def test_absurdly_nested_json_is_malformed_everywhere() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    response = httpx.Response(200, headers={"content-type": "application/json"})
    try:
        decode_json(response, deep)
    except MalformedResponseError:
        pass
    else:
        raise AssertionError("nested JSON was accepted")
    reader = EventReader()
    assert list(reader.feed(b"data: " + deep + b"\n\n")) == []
    try:
        reader.check()
    except MalformedResponseError:
        pass
    else:
        raise AssertionError("nested event was accepted")
    assert isinstance(error_from_response(500, {}, deep), HuggingFaceAPIError)
