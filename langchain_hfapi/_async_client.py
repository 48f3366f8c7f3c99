"""The asynchronous Hugging Face client, twin of `HFClient` in `_client.py`.

Same plan, same core; only sending (`await`) and sleeping (`asyncio.sleep`)
differ. One `httpx.AsyncClient` is kept per event loop (`_pools`), since
connections cannot move between loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from langchain_hfapi._client_core import (
    Answer,
    ClientCore,
    ClientSettings,
    attribution,
    check_response,
    decode_json,
    encode_body,
    is_event_stream,
    transport_errors,
    whole_answer,
    whole_answer_events,
    with_context,
)
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
        http = await self._http()
        try:
            with transport_errors(url):
                response = await http.get(url, params=params, headers=self.headers(hub=True))
            check_response(response, response.content)
            return parse_mapping(decode_json(response, response.content))
        except HuggingFaceAPIError as err:
            raise err.with_context(model=repo_id, provider="hub") from err

    async def candidates(self, target: Target) -> list[Candidate]:
        """Async twin of `HFClient.candidates`."""
        mapping = await self.fetch_mapping(target.repo_id) if target.needs_mapping else None
        return build_candidates(target, self.settings.router_url, mapping)

    async def get_json(self, url: str) -> Any:
        """Async twin of `HFClient.get_json`."""
        http = await self._http()
        with transport_errors(url):
            response = await http.get(url, headers=self.headers(hub=True))
        check_response(response, response.content)
        return decode_json(response, response.content)

    async def complete(
        self, target: Target, payload: Mapping[str, Any]
    ) -> tuple[Answer, dict[str, Any]]:
        """Async twin of `HFClient.complete`."""
        plan = self.plan(await self.candidates(target))
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            headers: httpx.Headers | None = None
            try:
                response = await self._within_deadline(self._send(cand, payload, stream=False))
                headers = response.headers
                answer = await self._read_answer(response)
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand, headers))
                continue
            plan.succeeded(attempt)
            return answer, attribution(cand, response.headers, plan)

    async def open_stream(self, target: Target, payload: Mapping[str, Any]) -> AsyncChatStream:
        """Async twin of `HFClient.open_stream`."""
        plan = self.plan(await self.candidates(target))
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            try:
                stream = await self._within_deadline(self._prime(cand, payload))
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand))
                continue
            plan.succeeded(attempt)
            stream.metadata.update(attribution(cand, stream._response.headers, plan))
            return stream

    async def _within_deadline(self, step: Awaitable[_T]) -> _T:
        """Awaits `step`, bounded by `first_token_timeout` when it is set.

        A late step is cancelled; its own cleanup closes the response.
        """
        limit = self.settings.first_token_timeout
        if limit is None:
            return await step
        try:
            return await asyncio.wait_for(step, limit)
        except asyncio.TimeoutError:
            raise APITimeoutError(f"no first token within {limit} s") from None

    async def _send(
        self, cand: Candidate, payload: Mapping[str, Any], *, stream: bool
    ) -> httpx.Response:
        """Sends one request; returns once the headers arrived (body unread)."""
        http = await self._http()
        request = http.build_request(
            "POST",
            cand.url,
            content=encode_body(cand.wire_model, payload),
            headers=self.headers(stream=stream),
        )
        with transport_errors(cand.url):
            return await http.send(request, stream=True)

    async def _read_answer(self, response: httpx.Response) -> Answer:
        """Async twin of `HFClient._read_answer`."""
        if response.status_code < 300 and is_event_stream(response):
            events = self._events(response)
            try:
                return [event async for event in events]
            finally:
                await events.aclose()
                await response.aclose()
        return whole_answer(response, await self._read(response))

    @staticmethod
    async def _read(response: httpx.Response) -> bytes:
        """Reads a whole body and returns the connection to the pool."""
        try:
            with transport_errors():
                return await response.aread()
        finally:
            await response.aclose()

    async def _prime(self, cand: Candidate, payload: Mapping[str, Any]) -> AsyncChatStream:
        """Sends the request and reads events until the first token."""
        response = await self._send(cand, payload, stream=True)
        events = self._events(response)
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
            return AsyncChatStream(response, events, buffered, {}, cand)
        except HuggingFaceAPIError as err:
            await events.aclose()
            await response.aclose()
            raise with_context(err, cand, response.headers) from err
        except BaseException:
            await events.aclose()
            await response.aclose()
            raise

    @staticmethod
    async def _events(response: httpx.Response) -> AsyncGenerator[dict[str, Any], None]:
        """Async twin of `HFClient._events`."""
        reader = EventReader()
        with transport_errors():
            async for chunk in response.aiter_bytes():
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
