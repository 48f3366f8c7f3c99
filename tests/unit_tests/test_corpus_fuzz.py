"""Fuzzes the recorded corpus: whatever a server sends, the user gets a valid
message or a typed error, never a bare exception, repeated text or a hang.

Mutations, drawn by hypothesis from real recordings: truncation, byte flips,
fields dropped or changed to another JSON type (string, number, null, object,
list), events dropped or repeated, and bodies read in pieces split at random
points. Each mutated body is served over loopback and read in all four modes.

CI runs a bounded, derandomized number of examples. By hand, for more:
``HFAPI_FUZZ_EXAMPLES=5000 pytest tests/unit_tests/test_corpus_fuzz.py`` (a
set example count also draws a new random seed each run).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from langchain_hfapi import HuggingFaceAPIError
from tests.corpus_oracle import Record, load_corpus, sse_payloads
from tests.corpus_replay import MODES, replay
from tests.replay_server import ReplayServer, Served

EXAMPLES = int(os.environ.get("HFAPI_FUZZ_EXAMPLES", "120"))
SEEDS = [r for r in load_corpus() if r.status == 200 and len(r.body) < 50_000]
OTHER_TYPES = ["x", "", 0, -1, 2.5, 10**30, None, True, {}, {"a": 1}, [], [1, "y"]]
_SSL = ssl.create_default_context()


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[ReplayServer]:
    with ReplayServer.running() as server:
        yield server


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(verify=_SSL, timeout=5) as client:
        yield client


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _mutate_json(doc: Any, draw: st.DrawFn) -> Any:
    """Drops a field or changes its type, at a path drawn from the document."""
    paths = list(_paths(doc))
    if not paths:
        return draw(st.sampled_from(OTHER_TYPES))
    path = draw(st.sampled_from(paths))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.sampled_from(OTHER_TYPES))
    return doc


def _mutate_events(body: bytes, draw: st.DrawFn) -> bytes:
    """Changes, drops or repeats one event of an event stream."""
    payloads = sse_payloads(body)
    if not payloads:
        return body
    index = draw(st.integers(0, len(payloads) - 1))
    action = draw(st.sampled_from(["change", "drop", "repeat"]))
    if action == "drop":
        del payloads[index]
    elif action == "repeat":
        payloads.insert(index, payloads[index])
    else:
        try:
            payloads[index] = json.dumps(_mutate_json(json.loads(payloads[index]), draw))
        except ValueError:
            payloads[index] = payloads[index][::-1]
    return "".join(f"data: {p}\n\n" for p in payloads).encode()


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Record, bytes, str]:
    """A recording and a mutation of its body."""
    record = draw(st.sampled_from(SEEDS))
    body = record.body
    kind = draw(st.sampled_from(["truncate", "flip", "json", "json", "events", "none"]))
    if kind == "truncate" and body:
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif kind == "flip" and body:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    elif kind == "json" and not record.is_stream:
        try:
            body = json.dumps(_mutate_json(json.loads(body), draw)).encode()
        except ValueError:
            body = body[::-1]
    elif kind in ("json", "events") and record.is_stream:
        body = _mutate_events(body, draw)
    return record, body, kind


def _visible_text(body: bytes) -> str:
    """All answer text of a (possibly broken) body, bad events skipped."""
    texts = []
    for payload in sse_payloads(body):
        for line in [payload, *payload.split("\n")]:
            try:
                event = json.loads(line)
                delta = event["choices"][0]["delta"]
                content = delta.get("content")
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                continue
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if isinstance(content, str):
                texts.append(content)
            break
    return "".join(texts)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="HFAPI_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated())
def test_mutated_recording_gives_a_message_or_a_typed_error_in_every_mode(
    case: tuple[Record, bytes, str], fuzz_server: ReplayServer, http_client: httpx.Client
) -> None:
    record, body, _ = case
    key = f"f{len(fuzz_server._server.responses)}"
    fuzz_server.add(key, Served(record.status, record.headers, body))
    for mode in MODES:
        started = time.monotonic()
        out = asyncio.run(replay(fuzz_server, key, mode, http_client))
        assert time.monotonic() - started < 15, f"{mode}: took too long"
        if out.error is not None:
            assert isinstance(out.error, HuggingFaceAPIError), f"{mode}: {out.error!r}"
        else:
            assert isinstance(out.message, AIMessage), mode
            assert isinstance(out.message.content, str)
        if out.chunks and record.is_stream:
            delivered = "".join(c.text for c in out.chunks)
            assert _visible_text(body).startswith(delivered), f"{mode}: text repeated or invented"
