"""The synchronous Hugging Face client: mapping lookups and chat with failover.

`AsyncHFClient` in `_async_client.py` is its twin; both follow the same
`FailoverPlan` and differ only in how they send and sleep.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Mapping
from types import TracebackType
from typing import Any

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
from langchain_hfapi._pools import sync_pool
from langchain_hfapi._routing import Target, build_candidates
from langchain_hfapi._state import StateStore
from langchain_hfapi._stream_events import EventReader, has_content
from langchain_hfapi._sync_deadline import Watchdog, send_within
from langchain_hfapi.errors import APITimeoutError, HuggingFaceAPIError

__all__ = ["ChatStream", "HFClient"]


def _within_total(chunks: Iterator[bytes], clock: CallClock) -> Iterator[bytes]:
    """Passes chunks on until `total_timeout` (reads themselves are bounded by it)."""
    for chunk in chunks:
        if clock.passed():
            raise clock.total_error()
        yield chunk


class ChatStream:
    """An open chat stream: attribution first, then decoded events.

    Created by `HFClient.open_stream` once a provider produced its first token.
    Errors after that are raised as they are, never retried elsewhere, so
    nothing the user already saw is repeated. Closes the response when
    exhausted, on `close()`, or when leaving a `with` block.

    Attributes:
        metadata: The provider attribution for `response_metadata`.
    """

    def __init__(
        self,
        response: httpx.Response,
        events: Generator[dict[str, Any], None, None] | None,
        buffered: list[dict[str, Any]],
        metadata: dict[str, Any],
        cand: Candidate,
    ) -> None:
        self.metadata = metadata
        self._response = response
        self._events = events
        self._buffered = buffered
        self._cand = cand

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

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (provider, request id)."""
        return self._response.headers

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


class HFClient(ClientCore):
    """Sends chat requests through the router with mapping, retries and failover.

    Unless an `httpx.Client` is given, requests go through the process's pool
    for these connection settings, shared by every client.

    Args:
        settings: Connection settings.
        http_client: An `httpx.Client` to use instead of the shared pool
            (never closed by this client).
        store: Where mappings and provider health are kept (default: the
            process's store).

    Example:
        >>> from pydantic import SecretStr
        >>> client = HFClient(ClientSettings(api_key=SecretStr("hf_...")))
    """

    def __init__(
        self,
        settings: ClientSettings,
        http_client: httpx.Client | None = None,
        store: StateStore | None = None,
    ) -> None:
        super().__init__(settings, store=store)
        self._given = http_client

    @property
    def http(self) -> httpx.Client:
        """The given httpx client, or the process's pool for these settings."""
        if self._given is not None:
            return self._given
        return sync_pool(self.settings.timeout)

    def close(self) -> None:
        """Releases the client (the shared pool stays open for other clients)."""

    def fetch_mapping(self, repo_id: str) -> list[ProviderMapping]:
        """Fetches a model's provider mapping from the Hub, through the cache.

        Args:
            repo_id: The Hub repo id.

        Returns:
            The mapping entries in the user's preference order.

        Raises:
            ModelNotSupportedError: If the Hub does not know the model.
            HuggingFaceAPIError: If the Hub fails and nothing is cached.
        """
        key = cache_key(self.settings.hub_url, self.token(), repo_id)
        return self.mappings.fetch(key, lambda: self._load_mapping(repo_id))

    def _load_mapping(self, repo_id: str) -> list[ProviderMapping]:
        url, params = self.mapping_request(repo_id)
        try:
            return parse_mapping(self.get_json(url, params))
        except HuggingFaceAPIError as err:
            raise err.with_context(model=repo_id, provider="hub") from err

    def candidates(self, target: Target) -> list[Candidate]:
        """Lists where a request for `target` may go, fetching the mapping if needed."""
        mapping = self.fetch_mapping(target.repo_id) if target.needs_mapping else None
        return build_candidates(target, self.settings.router_url, mapping)

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """Sends an authenticated GET and decodes the JSON answer (size-bounded)."""
        request = self.http.build_request("GET", url, params=params, headers=self.headers(hub=True))
        with transport_errors(url):
            response = self.http.send(request, stream=True)
        body = self._read(response)
        check_response(response, body)
        return decode_json(response, body)

    def complete(self, target: Target, payload: Mapping[str, Any]) -> tuple[Answer, dict[str, Any]]:
        """Sends a chat request and returns the whole answer.

        Args:
            target: The resolved model and provider choice.
            payload: The request without `model`.

        Returns:
            (answer, attribution): the decoded completion (or, from a server
            that streamed anyway, its events) and its metadata.

        Raises:
            HuggingFaceAPIError: The typed error once failover gave up.
        """
        body = RequestBody(payload)  # a local mistake is refused before the Hub lookup
        clock = CallClock(self.settings)
        plan = self.plan(self.candidates(target), clock)
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                time.sleep(attempt.delay)
            headers: httpx.Headers | None = None
            try:
                response = self._send(cand, body, clock, stream=False)
                headers = response.headers
                answer = self._read_answer(response, clock)
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand, headers))
                continue
            plan.succeeded(attempt)
            return answer, attribution(cand, response.headers, plan)

    def open_stream(self, target: Target, payload: Mapping[str, Any]) -> ChatStream:
        """Opens a stream on the first provider that produces a token.

        Failover (retries, then the next provider) happens only until the first
        answer text, reasoning or tool-call fragment arrives.

        Args:
            target: The resolved model and provider choice.
            payload: The request without `model` (with `"stream": True`).

        Returns:
            The open `ChatStream`.

        Raises:
            HuggingFaceAPIError: The typed error once failover gave up.
        """
        body = RequestBody(payload)  # a local mistake is refused before the Hub lookup
        clock = CallClock(self.settings)
        plan = self.plan(self.candidates(target), clock)
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                time.sleep(attempt.delay)
            try:
                stream = self._prime(cand, body, clock)
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand))
                continue
            plan.succeeded(attempt)
            stream.metadata.update(attribution(cand, stream.headers, plan))
            return stream

    def _send(
        self, cand: Candidate, body: RequestBody, clock: CallClock, *, stream: bool
    ) -> httpx.Response:
        """Sends one request; returns once the headers arrived (body unread).

        Connecting, sending and the wait for the headers together stay within
        the attempt's limit (`first_token_timeout`, `total_timeout`).
        """
        limit, why = clock.attempt_limit()
        request = self.http.build_request(
            "POST",
            cand.url,
            content=body.for_model(cand.wire_model),
            headers=self.headers(stream=stream),
            timeout=clock.send_timeout(limit),
        )

        def send() -> httpx.Response:
            with transport_errors(cand.url):
                return self.http.send(request, stream=True)

        response = send_within(send, limit, why)
        # httpcore reads a request's timeout when the body starts: the normal bound.
        response.request.extensions["timeout"] = clock.body_timeout()
        return response

    def _read_answer(self, response: httpx.Response, clock: CallClock) -> Answer:
        """Reads a whole answer; a server that streamed anyway gives its events."""
        if response.status_code < 300 and is_event_stream(response):
            try:
                return list(self._events(response, clock))
            finally:
                response.close()
        return whole_answer(response, self._read(response))

    def _read(self, response: httpx.Response) -> bytes:
        """Reads a whole body within its bound and returns the connection to the pool."""
        try:
            collector = body_collector(response, self.settings.limits)
            with transport_errors():
                for raw in response.iter_raw():
                    if collector.feed(raw):
                        break
            return collector.body()
        finally:
            response.close()

    def _prime(self, cand: Candidate, body: RequestBody, clock: CallClock) -> ChatStream:
        """Sends the request and reads events until the first token.

        Within the attempt's limit, a watchdog ends a wait for the first
        token that would block past it.
        """
        limit, why = clock.attempt_limit()
        deadline = None if limit is None else time.monotonic() + limit
        response = self._send(cand, body, clock, stream=True)
        watchdog = None if deadline is None else Watchdog(response, deadline)
        late = APITimeoutError(f"no first token within {why} s")
        try:
            if response.status_code >= 300 or not is_event_stream(response):
                whole = whole_answer_events(response, self._read(response))
                return ChatStream(response, None, whole, {}, cand)
            events = self._events(response, clock)
            buffered: list[dict[str, Any]] = []
            for event in events:
                buffered.append(event)
                if has_content(event) or (watchdog is not None and watchdog.expired()):
                    break
                check_events_before_token(len(buffered), self.settings.limits)
            if watchdog is not None and watchdog.expired():
                raise late
            return ChatStream(response, events, buffered, {}, cand)
        except HuggingFaceAPIError as err:
            response.close()
            error = late if watchdog is not None and watchdog.expired() else err
            raise with_context(error, cand, response.headers) from err
        except BaseException:
            response.close()
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()

    def _events(
        self, response: httpx.Response, clock: CallClock
    ) -> Generator[dict[str, Any], None, None]:
        """Decodes the response body into stream events until `[DONE]` or its end."""
        reader = EventReader(response.headers.get("content-encoding", ""), self.settings.limits)
        chunks = response.iter_raw()
        if clock.deadline is not None:
            chunks = _within_total(chunks, clock)
        with transport_errors():
            for chunk in chunks:
                yield from reader.feed(chunk)
                if reader.stopped:
                    break
            else:
                yield from reader.finish()
        reader.check()

    def __enter__(self) -> HFClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
