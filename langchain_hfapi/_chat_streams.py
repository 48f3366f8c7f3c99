"""What a successful attempt hands back: an open stream, or a whole answer.

`ChatStream` and `AsyncChatStream` carry the attribution and the decoded
events of a stream that produced its first token; `Answered` a whole answer
with its headers. `raw_body`/`araw_body` iterate a body without releasing its
connection, so the drivers decide when it goes back to the pool.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import Any, Generic, NamedTuple, TypeVar

import httpx

from langchain_hfapi._client_core import Answer, with_context
from langchain_hfapi._failover import Candidate
from langchain_hfapi.errors import HuggingFaceAPIError

__all__ = ["Answered", "AsyncChatStream", "ChatStream", "araw_body", "raw_body"]


class Answered(NamedTuple):
    """A whole answer and the headers it came with."""

    answer: Answer
    headers: httpx.Headers


def raw_body(response: httpx.Response) -> Iterator[bytes]:
    """Iterates a response's raw body without releasing its connection at the end.

    `iter_raw` closes the response once the body ends, which hands the
    connection to the pool before a watchdog could be cancelled; the drivers
    close it themselves.
    """
    stream = response.stream
    if not isinstance(stream, httpx.SyncByteStream):
        msg = "a sync client needs a sync response stream"
        raise TypeError(msg)
    return iter(stream)


def araw_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """Async twin of `raw_body`."""
    stream = response.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        msg = "an async client needs an async response stream"
        raise TypeError(msg)
    return stream.__aiter__()


_Events = TypeVar(
    "_Events", Generator[dict[str, Any], None, None], AsyncGenerator[dict[str, Any], None]
)


class _OpenStream(Generic[_Events]):
    """What both stream colours hold: the response, its events and attribution."""

    def __init__(
        self,
        response: httpx.Response,
        events: _Events | None,
        buffered: list[dict[str, Any]],
        metadata: dict[str, Any],
        cand: Candidate,
    ) -> None:
        self.metadata = metadata
        self._response = response
        self._events: _Events | None = events
        self._buffered = buffered
        self._cand = cand

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (provider, request id)."""
        return self._response.headers


class ChatStream(_OpenStream[Generator[dict[str, Any], None, None]]):
    """An open chat stream: attribution first, then decoded events.

    Created by `HFClient.open_stream` once a provider produced its first token.
    Errors after that are raised as they are, never retried elsewhere, so
    nothing the user already saw is repeated. Closes the response when
    exhausted, on `close()`, or when leaving a `with` block.

    Attributes:
        metadata: The provider attribution for `response_metadata`.
    """

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self._buffered
            self._buffered = []
            try:
                if self._events is not None:
                    yield from self._events
            except HuggingFaceAPIError as err:
                raise with_context(err, self._cand, self._response.headers) from err
        finally:
            self.close()

    def close(self) -> None:
        """Closes the response and returns the connection to the pool."""
        if self._events is not None:
            self._events.close()
        self._response.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncChatStream(_OpenStream[AsyncGenerator[dict[str, Any], None]]):
    """Async twin of `ChatStream`: attribution first, then decoded events.

    Attributes:
        metadata: The provider attribution for `response_metadata`.
    """

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        try:
            for event in self._buffered:
                yield event
            self._buffered = []
            try:
                if self._events is not None:
                    async for event in self._events:
                        yield event
            except HuggingFaceAPIError as err:
                raise with_context(err, self._cand, self._response.headers) from err
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Closes the response and returns the connection to the pool."""
        if self._events is not None:
            await self._events.aclose()
        await self._response.aclose()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
