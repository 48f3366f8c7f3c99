"""The end of a stream's body, read so that its connection can be reused.

A chat stream is over at `data: [DONE]`, but on HTTP/1.1 the body is not:
the terminating chunk (or the last bytes of a `Content-Length` body) still
has to be read before httpcore puts the connection back in the pool. Closing
the response earlier discards the connection, and the next call pays a new
connection (a TLS handshake on the real router).

So after `[DONE]` the drivers read on, within bounds, then close:

- when the body's `Content-Length` bytes have all arrived, no read is needed
  (h11 ends the body from its buffer);
- otherwise the wait for the end is at most `END_WAIT` seconds (a watchdog
  in sync, a timeout in async) and at most `MAX_TRAILING_BYTES` more bytes;
  past either, the response is closed and its connection discarded, as
  before. Errors while reading the end are not the user's concern: the
  answer is complete.

HTTP/2 streams close cleanly without reading on, so nothing is read there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from langchain_hfapi._deadlines import await_within
from langchain_hfapi._sync_deadline import Watchdog

__all__ = ["END_WAIT", "MAX_TRAILING_BYTES", "afinish_body", "finish_body"]

END_WAIT = 0.1  # seconds to wait for the end of a body after [DONE]
MAX_TRAILING_BYTES = 64 * 1024  # bytes read after [DONE] before giving up on reuse


def _fully_received(response: httpx.Response, received: int) -> bool:
    """Checks whether every byte a `Content-Length` announced has arrived."""
    length = response.headers.get("content-length", "")
    return length.isdigit() and received >= int(length)


def _drain(chunks: Iterator[bytes]) -> None:
    left = MAX_TRAILING_BYTES
    for chunk in chunks:
        left -= len(chunk)
        if left < 0:
            return


def finish_body(response: httpx.Response, chunks: Iterator[bytes], received: int) -> None:
    """Reads the rest of a finished stream's body, within bounds.

    Args:
        response: The response, still open (the caller closes it after).
        chunks: The iterator of its raw body, positioned after `[DONE]`.
        received: Raw body bytes read so far.
    """
    if response.http_version != "HTTP/1.1":
        return
    guard = None
    if not _fully_received(response, received):
        guard = Watchdog(response, time.monotonic() + END_WAIT)
    try:
        with contextlib.suppress(httpx.HTTPError, OSError):
            _drain(chunks)
    finally:
        if guard is not None:
            guard.cancel()  # before the caller's close releases the connection


async def _adrain(chunks: AsyncIterator[bytes]) -> None:
    left = MAX_TRAILING_BYTES
    async for chunk in chunks:
        left -= len(chunk)
        if left < 0:
            return


async def afinish_body(
    response: httpx.Response, chunks: AsyncIterator[bytes], received: int
) -> None:
    """Async twin of `finish_body` (the wait is bounded by a timeout)."""
    if response.http_version != "HTTP/1.1":
        return
    with contextlib.suppress(httpx.HTTPError, OSError, asyncio.TimeoutError):
        if _fully_received(response, received):
            await _adrain(chunks)
        else:
            await await_within(_adrain(chunks), END_WAIT)
