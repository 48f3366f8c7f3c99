"""The asynchronous Hugging Face client, twin of `HFClient` in `_client.py`.

Same plan, same core; only sending (`await`) and sleeping (`asyncio.sleep`)
differ. One connection pool is kept per event loop (`_pools`), since
connections cannot move between loops.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
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
from langchain_hfapi._chat_streams import Answered, AsyncChatStream, araw_body
from langchain_hfapi._client_core import (
    Answer,
    ClientCore,
    ClientSettings,
    RequestBody,
    attribution,
    transport_errors,
    with_context,
)
from langchain_hfapi._deadlines import CallClock, await_within
from langchain_hfapi._failover import Candidate
from langchain_hfapi._mapping import ProviderMapping, cache_key, parse_mapping
from langchain_hfapi._pools import async_pool
from langchain_hfapi._routing import Target, build_candidates
from langchain_hfapi._state import StateStore
from langchain_hfapi._stream_end import afinish_body
from langchain_hfapi._stream_events import EventReader, has_content
from langchain_hfapi._sync_deadline import worker_pool
from langchain_hfapi.errors import APITimeoutError, HuggingFaceAPIError

__all__ = ["AsyncHFClient"]

_T = TypeVar("_T")
_R = TypeVar("_R", "Answered", "AsyncChatStream")


async def _off_loop(decision: Callable[..., _T], *args: Any) -> _T:
    """Takes a plan decision on a worker thread: its store commands wait on the network.

    The plan stays one synchronous core for both drivers; here it runs where a
    Redis round trip (or its timeout) blocks no other task of the loop.
    """
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(worker_pool(), context.run, decision, *args)


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
        return await await_within(step, limit)
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

    given: httpx.AsyncClient | None  # the user's client, never closed here

    def __init__(
        self,
        settings: ClientSettings,
        http_client: httpx.AsyncClient | None = None,
        shared: ClientCore | None = None,
        store: StateStore | None = None,
    ) -> None:
        super().__init__(settings, shared, store, given=http_client)

    async def _transmit(self, request: httpx.Request) -> httpx.Response:
        """Sends a request on the given client or the loop's pool; headers read."""
        if self.given is not None:
            return await self.given.send(request, stream=True)
        response = await (await async_pool()).handle_async_request(request)
        response.request = request
        return response

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
        """Async twin of `HFClient.candidates` (measured speeds may be read from the store)."""
        mapping = await self.fetch_mapping(target.repo_id) if target.needs_mapping else None
        return await self.decide(build_candidates, target, self.settings.router_url, mapping)

    async def decide(self, step: Callable[..., _T], *args: Any) -> _T:
        """Runs a synchronous step that may send state-store commands (health, speeds).

        With a store that waits on the network (Redis) it runs on a thread, so
        no other task of the loop waits for it; otherwise inline.

        Args:
            step: The step (a plan decision, candidate ordering, a measurement).
            *args: Its arguments.

        Returns:
            What `step` returned.
        """
        if self.store.health_blocks:
            return await _off_loop(step, *args)
        return step(*args)

    async def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """Async twin of `HFClient.get_json`."""
        headers = self.headers(hub=True)
        request = self.build_request(
            "GET", url, params=params, headers=headers, timeout=self.timeout
        )
        with transport_errors(url):
            response = await self._transmit(request)
        body = await self._read(response)
        check_response(response, body)
        return decode_json(response, body)

    async def complete(
        self, target: Target, payload: Mapping[str, Any]
    ) -> tuple[Answer, dict[str, Any]]:
        """Async twin of `HFClient.complete`."""
        answered, meta = await self._with_failover(target, payload, self._answer)
        return answered.answer, meta

    async def open_stream(self, target: Target, payload: Mapping[str, Any]) -> AsyncChatStream:
        """Async twin of `HFClient.open_stream`."""
        stream, meta = await self._with_failover(target, payload, self._prime)
        stream.metadata.update(meta)
        return stream

    async def _with_failover(
        self,
        target: Target,
        payload: Mapping[str, Any],
        attempt: Callable[[Candidate, RequestBody, CallClock], Awaitable[_R]],
    ) -> tuple[_R, dict[str, Any]]:
        """The one async failover loop (twin of `HFClient._with_failover`)."""
        body = RequestBody(payload)  # a local mistake is refused before the Hub lookup
        clock = CallClock(self.settings)
        plan = self.plan(await self.candidates(target), clock)
        decide = self.decide
        step = await decide(plan.first)
        while True:
            if step.delay:
                await asyncio.sleep(step.delay)
            try:
                result = await attempt(step.candidate, body, clock)
            except HuggingFaceAPIError as err:
                step = await decide(plan.next_after, step, with_context(err, step.candidate))
                continue
            await decide(plan.succeeded, step)
            return result, attribution(step.candidate, result.headers, plan)

    async def _send(self, cand: Candidate, body: RequestBody, *, stream: bool) -> httpx.Response:
        """Sends one request; returns once the headers arrived (body unread)."""
        request = self.build_request(
            "POST",
            cand.url,
            content=body.for_model(cand.wire_model),
            headers=self.headers(stream=stream),
            timeout=self.timeout,
        )
        with transport_errors(cand.url):
            return await self._transmit(request)

    async def _answer(self, cand: Candidate, body: RequestBody, clock: CallClock) -> Answered:
        """Sends one attempt of a whole-answer request and reads its answer."""
        limit, why = clock.attempt_limit()
        response = await _within(
            self._send(cand, body, stream=False), limit, f"no answer within {why} s"
        )
        try:
            answer = await _within(
                self._read_answer(response, clock), clock.remaining(), clock.total_error
            )
            return Answered(answer, response.headers)
        except HuggingFaceAPIError as err:
            with_context(err, cand, response.headers)
            raise
        finally:
            await response.aclose()

    async def _read_answer(self, response: httpx.Response, clock: CallClock) -> Answer:
        """Reads a whole answer; a server that streamed anyway gives its events."""
        if response.status_code < 300 and is_event_stream(response):
            events = self._events(response, clock)
            try:
                return [event async for event in events]
            finally:
                await events.aclose()
        return whole_answer(response, await self._read(response))

    async def _read(self, response: httpx.Response) -> bytes:
        """Async twin of `HFClient._read`."""
        try:
            collector = body_collector(response, self.settings.limits)
            with transport_errors():
                async for raw in araw_body(response):
                    if collector.feed(raw):
                        break
            return collector.body()
        finally:
            await response.aclose()

    async def _prime(self, cand: Candidate, body: RequestBody, clock: CallClock) -> AsyncChatStream:
        """Sends one attempt of a stream request, within the attempt's limit."""
        limit, why = clock.attempt_limit()
        return await _within(self._open(cand, body, clock), limit, f"no first token within {why} s")

    async def _open(self, cand: Candidate, body: RequestBody, clock: CallClock) -> AsyncChatStream:
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
        raw = araw_body(response)
        chunks = raw if clock.deadline is None else _within_total(raw, clock)
        received = 0
        with transport_errors():
            async for chunk in chunks:
                received += len(chunk)
                for event in reader.feed(chunk):
                    yield event
                if reader.stopped:
                    break
            else:
                for event in reader.finish():
                    yield event
        reader.check()
        if reader.stopped:
            await afinish_body(response, raw, received)

    async def __aenter__(self) -> AsyncHFClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
