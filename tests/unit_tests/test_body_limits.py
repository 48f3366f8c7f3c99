"""Bounded reading: what a hostile server sends never grows memory past a bound.

The attacks come from `tests/bomb_server.py` over loopback; peak RSS is
measured in a fresh child process (`tests/rss_probe.py`).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_hfapi import (
    ChatHuggingFaceAPI,
    HuggingFaceAPIError,
    MalformedResponseError,
    ProviderError,
    ResponseTooLargeError,
)
from langchain_hfapi._body_limits import BodyCollector, BodyDecoder
from langchain_hfapi._sse import SSEDecoder
from tests.bomb_server import BombServer
from tests.helpers import MODES, completion, run
from tests.router_server import RouterServer, Step

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def bombs() -> Iterator[BombServer]:
    with BombServer.running(bomb_mib=64) as server:
        yield server


def _bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


def test_gzip_bomb_stops_at_the_limit_in_bounded_pieces() -> None:
    decoder = BodyDecoder("gzip", limit=MiB, setting="max_response_bytes")
    seen = 0
    with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1048576") as info:
        for piece in decoder.feed(_bomb(50 * MiB)):
            assert len(piece) <= 64 * 1024
            seen += len(piece)
    assert seen <= MiB
    assert info.value.limit == "max_response_bytes"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_bodies_are_decoded_with_or_without_the_zlib_header(wbits: int) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    raw = compressor.compress(b'{"a": 1}') + compressor.flush()
    collector = BodyCollector("deflate", 100, "max_response_bytes")
    collector.feed(raw[:3])
    collector.feed(raw[3:])
    assert collector.body() == b'{"a": 1}'


def test_unsupported_or_corrupt_encoding_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="unsupported content-encoding 'br'"):
        BodyDecoder("br", None, "max_response_bytes")
    with pytest.raises(MalformedResponseError, match="corrupt"):
        list(BodyDecoder("gzip", None, "max_response_bytes").feed(b"\x1f\x8bnot gzip at all"))


def test_error_body_is_cut_at_its_limit_without_an_error() -> None:
    collector = BodyCollector("", 10, "max_error_bytes", truncate=True)
    assert collector.feed(b"0123456") is False
    assert collector.feed(b"789abcdef") is True  # enough: the rest is not read
    assert collector.body() == b"0123456789"


def test_sse_line_or_event_over_the_bound_is_stopped() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    decoder.feed(b"data: " + b"x" * 60)
    with pytest.raises(ResponseTooLargeError, match="max_event_bytes=100"):
        decoder.feed(b"y" * 60)
    lines = SSEDecoder(max_event_bytes=100)
    with pytest.raises(ResponseTooLargeError):
        lines.feed(b"data: " + b"a" * 60 + b"\ndata: " + b"b" * 60 + b"\n")


# --- over loopback, in every mode --------------------------------------------------

ANSWER_ATTACKS = ["gzip_bomb_answer", "endless_answer"]
STREAM_ATTACKS = ["gzip_bomb_stream", "long_sse_line", "empty_event_flood"]


def _llm(url: str, **kwargs: Any) -> ChatHuggingFaceAPI:
    return ChatHuggingFaceAPI(model="m", base_url=url, max_retries=0, timeout=10, **kwargs)


@pytest.mark.parametrize("attack", ANSWER_ATTACKS + STREAM_ATTACKS)
@pytest.mark.parametrize("mode", MODES)
async def test_attack_ends_quickly_with_a_typed_error_naming_the_bound(
    bombs: BombServer, attack: str, mode: str
) -> None:
    llm = _llm(f"{bombs.url}/{attack}", streaming=attack in STREAM_ATTACKS)
    started = time.monotonic()
    with pytest.raises(HuggingFaceAPIError) as info:
        await run(llm, mode)
    assert time.monotonic() - started < 5
    if attack.startswith("gzip") or attack in ("endless_answer", "long_sse_line"):
        assert isinstance(info.value, ResponseTooLargeError), repr(info.value)
        assert info.value.limit in str(info.value)
    else:  # an empty flood: too many events before the first token, or a bounded whole read
        assert isinstance(info.value, ResponseTooLargeError), repr(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_huge_error_body_gives_the_http_error_after_reading_its_start(
    bombs: BombServer, mode: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await run(_llm(f"{bombs.url}/big_error_body"), mode)
    assert info.value.status_code == 500
    assert time.monotonic() - started < 5
    assert len(info.value.message) <= 300


@pytest.mark.parametrize("mode", MODES)
async def test_body_over_a_bound_fails_over_to_the_next_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    bomb = _bomb(40 * MiB)
    headers = {"Content-Encoding": "gzip"}
    kind = "text/event-stream" if mode in ("stream", "astream") else "application/json"
    router.script("together", Step(body=bomb, headers=headers, content_type=kind))
    llm = make_llm(provider=["together", "fireworks-ai"], max_retries=0)
    msg = await run(llm, mode)
    assert msg.content == "Hello from fireworks-ai."
    (attempt,) = msg.response_metadata["attempts"]
    assert attempt["error"] == "ResponseTooLargeError"


@pytest.mark.parametrize("mode", MODES)
async def test_gzip_answer_within_the_bound_is_read(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    if mode in ("stream", "astream"):
        event = {"choices": [{"index": 0, "delta": {"content": "zipped"}, "finish_reason": "stop"}]}
        body, kind = gzip.compress(f"data: {json.dumps(event)}\n\n".encode()), "text/event-stream"
    else:
        body = gzip.compress(json.dumps(completion({"content": "zipped"})).encode())
        kind = "application/json"
    router.script(
        "together", Step(body=body, headers={"Content-Encoding": "gzip"}, content_type=kind)
    )
    assert (await run(make_llm(), mode)).content == "zipped"
    assert router.chat_requests()[-1].headers.get("accept-encoding") == "gzip, deflate"


# --- peak memory, measured in a fresh process ----------------------------------------

RSS_CASES = [
    ("gzip_bomb_answer", "invoke", "ResponseTooLargeError", 40),
    ("endless_answer", "ainvoke", "ResponseTooLargeError", 40),
    ("gzip_bomb_stream", "stream", "ResponseTooLargeError", 24),
    ("long_sse_line", "astream", "ResponseTooLargeError", 24),
    ("big_error_body", "invoke", "ProviderError", 16),
    ("empty_event_flood", "stream", "ResponseTooLargeError", 16),
]


@pytest.mark.parametrize(("attack", "mode", "error", "most_mib"), RSS_CASES)
def test_peak_memory_stays_within_the_bound_of_each_attack(
    bombs: BombServer, attack: str, mode: str, error: str, most_mib: int
) -> None:
    """The attacks send 200-300 MB (or never end); peak RSS grows by the bound only."""
    probe = [sys.executable, "-m", "tests.rss_probe", bombs.url, attack, mode]
    out = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["error"] == error
    grown_mib = (figures["after_kib"] - figures["before_kib"]) / 1024
    assert grown_mib < most_mib, figures
