"""The asynchronous Hugging Face client, twin of `HFClient` in `_client.py`.

Same plan, same core; only sending (`await`) and sleeping (`asyncio.sleep`)
differ. One `httpx.AsyncClient` is kept per event loop (`_pools`), since
connections cannot move between loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from langchain_hfapi._answers import (
    body_collector,
    check_events_before_token,
    check_response,
    decode_json,
    is_event_stream,
    whole_answer,
    whole_answer_events,
)
from langchain_hfapi._client_core import (
    Answer,
    ClientCore,
    ClientSettings,
    RequestBody,
    attribution,
    transport_errors,
    with_context,
)
from langchain_hfapi._deadlines import CallClock
from langchain_hfapi._failover import Candidate
from langchain_hfapi._mapping import ProviderMapping, cache_key, parse_mapping
from langchain_hfapi._pools import async_pool
from langchain_hfapi._routing import Target, build_candidates
from langchain_hfapi._state import StateStore
from langchain_hfapi._stream_events import EventReader, has_content
from langchain_hfapi.errors import APITimeoutError, HuggingFaceAPIError

__all__ = ["AsyncChatStream", "AsyncHFClient"]

_T = TypeVar("_T")


async def shared_pool(settings: ClientSettings) -> httpx.AsyncClient:
    """Returns the running loop's shared httpx client for these settings.

    Args:
        settings: Connection settings (only the timeout distinguishes pools).

    Returns:
        An open `httpx.AsyncClient`, created on first use in this loop and
        closed with the loop (see `_pools`).
    """
    return await async_pool(settings.timeout)


async def _within(
    step: Awaitable[_T], limit: float | None, late: str | Callable[[], APITimeoutError]
) -> _T:
    """Awaits `step` for at most `limit` seconds; a late step is cancelled.

    Its own cleanup closes the response. `late` is the message of the
    `APITimeoutError` raised, or a function that builds it.
    """
    if limit is None:
        return await step
    try:
        return await asyncio.wait_for(step, limit)
    except asyncio.TimeoutError:
        raise (late() if callable(late) else APITimeoutError(late)) from None


async def _within_total(chunks: AsyncIterator[bytes], clock: CallClock) -> AsyncIterator[bytes]:
    """Passes chunks on until `total_timeout`, a stalled read included."""
    while True:
        try:
            chunk = await _within(anext(chunks), clock.remaining(), clock.total_error)
        except StopAsyncIteration:
            return
        yield chunk


class AsyncChatStream:
    """Async twin of `ChatStream`: attribution first, then decoded events.

    Attributes:
        metadata: The provider attribution for `response_metadata`.
    """

    def __init__(
        self,
        response: httpx.Response,
        events: AsyncGenerator[dict[str, Any], None] | None,
        buffered: list[dict[str, Any]],
        metadata: dict[str, Any],
        cand: Candidate,
    ) -> None:
        self.metadata = metadata
        self._response = response
        self._events = events
        self._buffered = buffered
        self._cand = cand

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

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (provider, request id)."""
        return self._response.headers

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


class AsyncHFClient(ClientCore):
    """Async twin of `HFClient`.

    Unless an `httpx.AsyncClient` is given, requests go through a pool shared
    by every client on the running event loop, closed when the loop shuts down.

    Args:
        settings: Connection settings.
        http_client: An `httpx.AsyncClient` to use instead of the shared pool.
        shared: A client whose state store to use.
        store: Where mappings and provider health are kept (default: the
            process's store).
    """

    def __init__(
        self,
        settings: ClientSettings,
        http_client: httpx.AsyncClient | None = None,
        shared: ClientCore | None = None,
        store: StateStore | None = None,
    ) -> None:
        super().__init__(settings, shared, store)
        self._given = http_client

    async def _http(self) -> httpx.AsyncClient:
        """The given httpx client, or the running loop's shared pool."""
        if self._given is not None:
            return self._given
        return await shared_pool(self.settings)

    async def aclose(self) -> None:
        """Releases the client (the shared pool itself closes with its loop)."""

    async def fetch_mapping(self, repo_id: str) -> list[ProviderMapping]:
        """Async twin of `HFClient.fetch_mapping`."""
        key = cache_key(self.settings.hub_url, self.token(), repo_id)
        return await self.mappings.afetch(key, lambda: self._load_mapping(repo_id))

    async def _load_mapping(self, repo_id: str) -> list[ProviderMapping]:
        url, params = self.mapping_request(repo_id)
        try:
            return parse_mapping(await self.get_json(url, params))
        except HuggingFaceAPIError as err:
            raise err.with_context(model=repo_id, provider="hub") from err

    async def candidates(self, target: Target) -> list[Candidate]:
        """Async twin of `HFClient.candidates`."""
        mapping = await self.fetch_mapping(target.repo_id) if target.needs_mapping else None
        return build_candidates(target, self.settings.router_url, mapping)

    async def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """Async twin of `HFClient.get_json`."""
        http = await self._http()
        request = http.build_request("GET", url, params=params, headers=self.headers(hub=True))
        with transport_errors(url):
            response = await http.send(request, stream=True)
        body = await self._read(response)
        check_response(response, body)
        return decode_json(response, body)

    async def complete(
        self, target: Target, payload: Mapping[str, Any]
    ) -> tuple[Answer, dict[str, Any]]:
        """Async twin of `HFClient.complete`."""
        body = RequestBody(payload)  # a local mistake is refused before the Hub lookup
        clock = CallClock(self.settings)
        plan = self.plan(await self.candidates(target), clock)
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            headers: httpx.Headers | None = None
            try:
                limit, why = clock.attempt_limit()
                sent = self._send(cand, body, stream=False)
                response = await _within(sent, limit, f"no answer within {why} s")
                headers = response.headers
                reading = self._read_answer(response, clock)
                answer = await _within(reading, clock.remaining(), clock.total_error)
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand, headers))
                continue
            plan.succeeded(attempt)
            return answer, attribution(cand, response.headers, plan)

    async def open_stream(self, target: Target, payload: Mapping[str, Any]) -> AsyncChatStream:
        """Async twin of `HFClient.open_stream`."""
        body = RequestBody(payload)  # a local mistake is refused before the Hub lookup
        clock = CallClock(self.settings)
        plan = self.plan(await self.candidates(target), clock)
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            try:
                limit, why = clock.attempt_limit()
                priming = self._prime(cand, body, clock)
                stream = await _within(priming, limit, f"no first token within {why} s")
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand))
                continue
            plan.succeeded(attempt)
            stream.metadata.update(attribution(cand, stream.headers, plan))
            return stream

    async def _send(self, cand: Candidate, body: RequestBody, *, stream: bool) -> httpx.Response:
        """Sends one request; returns once the headers arrived (body unread)."""
        http = await self._http()
        request = http.build_request(
            "POST",
            cand.url,
            content=body.for_model(cand.wire_model),
            headers=self.headers(stream=stream),
        )
        with transport_errors(cand.url):
            return await http.send(request, stream=True)

    async def _read_answer(self, response: httpx.Response, clock: CallClock) -> Answer:
        """Async twin of `HFClient._read_answer`."""
        if response.status_code < 300 and is_event_stream(response):
            events = self._events(response, clock)
            try:
                return [event async for event in events]
            finally:
                await events.aclose()
                await response.aclose()
        return whole_answer(response, await self._read(response))

    async def _read(self, response: httpx.Response) -> bytes:
        """Async twin of `HFClient._read`."""
        try:
            collector = body_collector(response, self.settings.limits)
            with transport_errors():
                async for raw in response.aiter_raw():
                    if collector.feed(raw):
                        break
            return collector.body()
        finally:
            await response.aclose()

    async def _prime(self, cand: Candidate, body: RequestBody, clock: CallClock) -> AsyncChatStream:
        """Sends the request and reads events until the first token."""
        response = await self._send(cand, body, stream=True)
        events = self._events(response, clock)
        try:
            if response.status_code >= 300 or not is_event_stream(response):
                await events.aclose()
                whole = whole_answer_events(response, await self._read(response))
                return AsyncChatStream(response, None, whole, {}, cand)
            buffered: list[dict[str, Any]] = []
            async for event in events:
                buffered.append(event)
                if has_content(event):
                    break
                check_events_before_token(len(buffered), self.settings.limits)
            return AsyncChatStream(response, events, buffered, {}, cand)
        except HuggingFaceAPIError as err:
            await events.aclose()
            await response.aclose()
            raise with_context(err, cand, response.headers) from err
        except BaseException:
            await events.aclose()
            await response.aclose()
            raise

    async def _events(
        self, response: httpx.Response, clock: CallClock
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Async twin of `HFClient._events`."""
        reader = EventReader(response.headers.get("content-encoding", ""), self.settings.limits)
        chunks = response.aiter_raw()
        if clock.deadline is not None:
            chunks = _within_total(chunks, clock)
        with transport_errors():
            async for chunk in chunks:
                for event in reader.feed(chunk):
                    yield event
                if reader.stopped:
                    break
            else:
                for event in reader.finish():
                    yield event
        reader.check()

    async def __aenter__(self) -> AsyncHFClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
