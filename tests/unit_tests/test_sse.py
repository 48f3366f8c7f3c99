"""Tests for the incremental SSE decoder (`langchain_hfapi._sse`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from langchain_hfapi._sse import SSEDecoder, aiter_sse_data, iter_sse_data

SSE_DIR = Path(__file__).resolve().parents[1] / "data" / "sse"
PROVIDERS = ["fireworks-ai", "together", "novita", "cerebras", "hf-inference"]
MODES = pytest.mark.parametrize("mode", ["sync", "async"], ids=["sync", "async"])


def decode(mode: str, chunks: Iterable[bytes]) -> list[bytes]:
    """Runs `iter_sse_data` or `aiter_sse_data` over the chunks."""
    chunks = list(chunks)
    if mode == "sync":
        return list(iter_sse_data(chunks))

    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            await asyncio.sleep(0)
            yield chunk

    async def collect() -> list[bytes]:
        return [data async for data in aiter_sse_data(source())]

    return asyncio.run(collect())


def split_every(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


# --- line endings ---------------------------------------------------------------


@MODES
@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_sse_events_are_framed_with_any_line_ending(mode: str, eol: bytes) -> None:
    body = b"data: one" + eol + eol + b"data: two" + eol + eol
    assert decode(mode, [body]) == [b"one", b"two"]


@MODES
@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_sse_line_endings_split_byte_by_byte(mode: str, eol: bytes) -> None:
    body = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert decode(mode, split_every(body, 1)) == [b"a\nb", b"c"]


@MODES
def test_sse_crlf_split_across_chunks_is_one_line_break(mode: str) -> None:
    # "\r" ends one chunk, "\n" starts the next: one line end, not an empty line.
    chunks = [b"data: first\r", b"\ndata: second\r", b"\n\r", b"\n"]
    assert decode(mode, chunks) == [b"first\nsecond"]


def test_sse_decoder_crlf_split_does_not_dispatch_early() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n") == []  # the LF completes the CRLF, no blank line
    assert decoder.feed(b"\r\n") == [b"x"]


@MODES
def test_sse_lf_after_cr_only_skipped_at_start_of_next_chunk(mode: str) -> None:
    # "\r" then a chunk starting with "data" keeps "\r" as a full line end.
    assert decode(mode, [b"data: a\r", b"data: b\r", b"\r"]) == [b"a\nb"]


@MODES
def test_sse_empty_chunk_between_cr_and_lf_keeps_crlf(mode: str) -> None:
    assert decode(mode, [b"data: a\r", b"", b"\ndata: b\r\n\r\n"]) == [b"a\nb"]


# --- fields ------------------------------------------------------------------------


@MODES
def test_sse_data_with_and_without_space(mode: str) -> None:
    body = b'data: {"a":1}\n\ndata:{"b":2}\n\ndata:  two spaces\n\n'
    assert decode(mode, [body]) == [b'{"a":1}', b'{"b":2}', b" two spaces"]


@MODES
def test_sse_comments_and_other_fields_are_ignored(mode: str) -> None:
    body = (
        b": keep-alive\n\n"
        b"event: message\nid: 42\nretry: 1000\n: comment\ndata: payload\n\n"
        b"event: ping\n\n"
        b"unknown: x\ndata: second\n\n"
    )
    assert decode(mode, [body]) == [b"payload", b"second"]


@MODES
def test_sse_multi_line_data_joined_with_lf(mode: str) -> None:
    body = b"data: line 1\ndata: line 2\ndata:\ndata: line 4\n\n"
    assert decode(mode, [body]) == [b"line 1\nline 2\n\nline 4"]


@MODES
def test_sse_empty_data_field_dispatches_empty_payload(mode: str) -> None:
    assert decode(mode, [b"data:\n\n"]) == [b""]


@MODES
def test_sse_bare_data_field_without_colon_counts_as_empty_data(mode: str) -> None:
    assert decode(mode, [b"data\ndata: x\n\ndata\n\n"]) == [b"\nx", b""]


@MODES
def test_sse_blank_lines_without_data_dispatch_nothing(mode: str) -> None:
    assert decode(mode, [b"\n\n\n\r\n\r\r"]) == []


@MODES
def test_sse_field_name_is_case_sensitive(mode: str) -> None:
    assert decode(mode, [b"Data: no\n\nDATA: no\n\ndata: yes\n\n"]) == [b"yes"]


@MODES
def test_sse_done_sentinel_is_passed_through_as_data(mode: str) -> None:
    assert decode(mode, [b"data: {}\n\ndata: [DONE]\n\n"]) == [b"{}", b"[DONE]"]


@MODES
def test_sse_leading_bom_is_stripped(mode: str) -> None:
    body = b"\xef\xbb\xbfdata: first\n\ndata: second\n\n"
    for cut in range(len(body)):
        assert decode(mode, [body[:cut], body[cut:]]) == [b"first", b"second"], cut


@MODES
def test_sse_bom_is_only_stripped_at_the_start_of_the_stream(mode: str) -> None:
    # Later, "\ufeffdata" is an unknown field name, as the SSE spec says.
    body = b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n"
    assert decode(mode, [body]) == [b"a", b"c"]
    assert decode(mode, [b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n"]) == [b"y"]


# --- encodings and separators ----------------------------------------------------


@MODES
def test_sse_multibyte_character_split_at_every_byte_position(mode: str) -> None:
    text = 'data: {"t":"héllo 世界 🎉 ß"}'
    body = (text + "\n\n").encode("utf-8")
    expected = [text[6:].encode("utf-8")]
    for cut in range(1, len(body)):
        assert decode(mode, [body[:cut], body[cut:]]) == expected, cut


def test_sse_multibyte_character_split_in_three_pieces_everywhere() -> None:
    body = "data: 世🎉é\n\n".encode()
    for first in range(1, len(body) - 1):
        for second in range(first + 1, len(body)):
            chunks = [body[:first], body[first:second], body[second:]]
            events = list(iter_sse_data(chunks))
            assert [e.decode("utf-8") for e in events] == ["世🎉é"], (first, second)


@MODES
@pytest.mark.parametrize(
    "separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c"], ids=repr
)
def test_sse_unicode_line_separators_inside_data_do_not_split(mode: str, separator: str) -> None:
    payload = json.dumps({"t": f"a{separator}b"}, ensure_ascii=False)
    body = f"data: {payload}\n\n".encode()
    [event] = decode(mode, [body])
    assert json.loads(event) == {"t": f"a{separator}b"}


# --- end of stream ------------------------------------------------------------------


@MODES
@pytest.mark.parametrize(
    "tail", [b"data: last", b"data: last\n", b"data: last\r"], ids=["none", "LF", "CR"]
)
def test_sse_final_event_without_blank_line_dispatched_at_end(mode: str, tail: bytes) -> None:
    assert decode(mode, [b"data: first\n\n", tail]) == [b"first", b"last"]


def test_sse_finish_flushes_pending_event_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\ndata: b") == []
    assert decoder.finish() == [b"a\nb"]
    assert decoder.finish() == []


def test_sse_finish_without_pending_event_returns_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [b"a"]
    assert decoder.finish() == []


def test_sse_finish_drops_a_pending_non_data_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n: keep-alive")
    assert decoder.finish() == []


@MODES
def test_sse_empty_chunks_are_harmless(mode: str) -> None:
    chunks = [b"", b"data: a", b"", b"\n", b"", b"\n", b"", b"data: b\n\n", b""]
    assert decode(mode, chunks) == [b"a", b"b"]


@MODES
def test_sse_no_chunks_gives_no_events(mode: str) -> None:
    assert decode(mode, []) == []


def test_sse_feed_returns_only_events_completed_by_that_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n\ndata: 2\n\ndata: 3") == [b"1", b"2"]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [b"3"]


# --- size and performance ---------------------------------------------------------


@MODES
def test_sse_5mb_single_line_event_in_64k_chunks_is_linear(mode: str) -> None:
    payload = b"x" * (5 * 1024 * 1024)
    body = b"data: " + payload + b"\n\n"
    start = time.perf_counter()
    events = decode(mode, split_every(body, 64 * 1024))
    elapsed = time.perf_counter() - start
    assert len(events) == 1
    assert events[0] == payload
    assert elapsed < 2.0


def test_sse_long_line_in_1k_chunks_is_linear() -> None:
    # 5,000 feeds of one unfinished line: quadratic re-joining would copy ~12 GB.
    payload = b"y" * (5 * 1024 * 1024)
    decoder = SSEDecoder()
    start = time.perf_counter()
    for chunk in split_every(b"data: " + payload, 1024):
        assert decoder.feed(chunk) == []
    events = decoder.feed(b"\n\n")
    assert time.perf_counter() - start < 2.0
    assert events == [payload]


# --- real recorded streams ----------------------------------------------------------


def recorded_events(body: bytes) -> list[bytes]:
    """Independent oracle: the recorded bodies are `data: ...` blocks split by LF LF."""
    blocks = [block for block in body.split(b"\n\n") if block]
    assert all(block.startswith(b"data: ") and b"\n" not in block for block in blocks)
    return [block[len(b"data: ") :] for block in blocks]


@MODES
@pytest.mark.parametrize("provider", PROVIDERS)
def test_sse_recorded_stream_same_events_at_every_chunk_size(mode: str, provider: str) -> None:
    body = (SSE_DIR / f"{provider}.txt").read_bytes()
    expected = recorded_events(body)
    assert len(expected) > 5
    for size in range(1, 17):
        assert decode(mode, split_every(body, size)) == expected, size


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sse_recorded_stream_events_are_json_or_done(provider: str) -> None:
    events = list(iter_sse_data([(SSE_DIR / f"{provider}.txt").read_bytes()]))
    chunks = [json.loads(e) for e in events if e != b"[DONE]"]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    ends_with_done = events[-1] == b"[DONE]"
    assert ends_with_done is (provider != "cerebras")  # cerebras sends no [DONE]


@MODES
def test_sse_recorded_stream_with_crlf_line_endings(mode: str) -> None:
    body = (SSE_DIR / "together.txt").read_bytes()
    expected = recorded_events(body)
    crlf = body.replace(b"\n", b"\r\n")
    for size in (1, 2, 3, 7):
        assert decode(mode, split_every(crlf, size)) == expected, size
