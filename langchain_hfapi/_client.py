"""The synchronous Hugging Face client: mapping lookups and chat with failover.

`AsyncHFClient` in `_async_client.py` is its twin; both follow the same
`FailoverPlan` and differ only in how they send and sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
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
from langchain_hfapi._chat_streams import Answered, ChatStream, raw_body
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
from langchain_hfapi._stream_end import finish_body
from langchain_hfapi._stream_events import EventReader, has_content
from langchain_hfapi._sync_deadline import Watchdog, run_within
from langchain_hfapi.errors import APITimeoutError, HuggingFaceAPIError

__all__ = ["HFClient"]

_R = TypeVar("_R", "Answered", "ChatStream")


def _within_total(chunks: Iterator[bytes], clock: CallClock) -> Iterator[bytes]:
    """Passes chunks on until `total_timeout` (reads themselves are bounded by it)."""
    for chunk in chunks:
        if clock.passed():
            raise clock.total_error()
        yield chunk


class HFClient(ClientCore):
    """Sends chat requests through the router with mapping, retries and failover.

    Unless an `httpx.Client` is given, requests go through the process's
    connection pool, shared by every client.

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

    given: httpx.Client | None  # the user's client, never closed here

    def __init__(
        self,
        settings: ClientSettings,
        http_client: httpx.Client | None = None,
        store: StateStore | None = None,
    ) -> None:
        super().__init__(settings, store=store, given=http_client)

    @property
    def http(self) -> httpx.Client | httpx.HTTPTransport:
        """The given httpx client, or the process's connection pool."""
        if self.given is not None:
            return self.given
        return sync_pool()

    def _transmit(self, request: httpx.Request) -> httpx.Response:
        """Sends a request on the given client or the shared pool; headers read."""
        if self.given is not None:
            return self.given.send(request, stream=True)
        response = sync_pool().handle_request(request)
        response.request = request
        return response

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
        headers = self.headers(hub=True)
        request = self.build_request(
            "GET", url, params=params, headers=headers, timeout=self.timeout
        )
        with transport_errors(url):
            response = self._transmit(request)
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
        answered, meta = self._with_failover(target, payload, self._answer)
        return answered.answer, meta

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
        stream, meta = self._with_failover(target, payload, self._prime)
        stream.metadata.update(meta)
        return stream

    def _with_failover(
        self, target: Target, payload: Mapping[str, Any], attempt: Callable[..., _R]
    ) -> tuple[_R, dict[str, Any]]:
        """Runs `attempt` on each candidate the call's `FailoverPlan` chooses.

        The one sync failover loop: sleeping is its only difference from the
        async one.

        Returns:
            (the first successful attempt's result, its attribution).
        """
        body = RequestBody(payload)  # a local mistake is refused before the Hub lookup
        clock = CallClock(self.settings)
        plan = self.plan(self.candidates(target), clock)
        step = plan.first()
        while True:
            if step.delay:
                time.sleep(step.delay)
            try:
                result = attempt(step.candidate, body, clock)
            except HuggingFaceAPIError as err:
                step = plan.next_after(step, with_context(err, step.candidate))
                continue
            plan.succeeded(step)
            return result, attribution(step.candidate, result.headers, plan)

    def _request(
        self, cand: Candidate, body: RequestBody, clock: CallClock, *, stream: bool
    ) -> httpx.Response:
        """Sends one request in this thread; returns once the headers arrived.

        Each phase (connect, write, the wait for the headers) is bounded by the
        attempt's limit; the body's reads by the normal timeout.
        """
        limit, _ = clock.attempt_limit()
        request = self.build_request(
            "POST",
            cand.url,
            content=body.for_model(cand.wire_model),
            headers=self.headers(stream=stream),
            timeout=clock.send_timeout(limit),
        )
        with transport_errors(cand.url):
            response = self._transmit(request)
        # httpcore reads a request's timeout when the body starts: the normal bound.
        response.request.extensions["timeout"] = clock.body_timeout()
        return response

    def _answer(self, cand: Candidate, body: RequestBody, clock: CallClock) -> Answered:
        """Sends one attempt of a whole-answer request and reads its answer."""
        limit, why = clock.attempt_limit()
        response = run_within(
            lambda: self._request(cand, body, clock, stream=False),
            limit,
            f"no answer within {why} s",
        )
        try:
            if response.status_code < 300 and is_event_stream(response):
                return Answered(list(self._events(response, clock)), response.headers)
            return Answered(whole_answer(response, self._read(response)), response.headers)
        except HuggingFaceAPIError as err:
            with_context(err, cand, response.headers)
            raise
        finally:
            response.close()

    def _read(self, response: httpx.Response, guard: Watchdog | None = None) -> bytes:
        """Reads a whole body within its bound and returns the connection to the pool."""
        try:
            collector = body_collector(response, self.settings.limits)
            with transport_errors():
                for raw in raw_body(response):
                    if collector.feed(raw):
                        break
            return collector.body()
        finally:
            if guard is not None:
                guard.cancel()  # before the connection goes back to the pool
            response.close()

    def _prime(self, cand: Candidate, body: RequestBody, clock: CallClock) -> ChatStream:
        """Sends one attempt of a stream request and reads events until the first token.

        Connecting, sending and the wait for the first token together stay
        within the attempt's limit, on HTTP/1.1 and HTTP/2 (`run_within`).
        """
        limit, why = clock.attempt_limit()
        if limit is None:
            return self._open(cand, body, clock, None, "")
        deadline = time.monotonic() + limit
        late = f"no first token within {why} s"
        return run_within(lambda: self._open(cand, body, clock, deadline, late), limit, late)

    def _open(
        self,
        cand: Candidate,
        body: RequestBody,
        clock: CallClock,
        deadline: float | None,
        late: str,
    ) -> ChatStream:
        """Sends the request and reads events until the first token (this thread).

        On HTTP/1.1 a watchdog ends a read that would block past `deadline`,
        which frees this thread and the connection.
        """
        response = self._request(cand, body, clock, stream=True)
        watchdog = None if deadline is None else Watchdog(response, deadline)
        try:
            try:
                return self._first_token(response, clock, cand, watchdog, late)
            finally:
                if watchdog is not None:
                    watchdog.cancel()  # before any close releases the connection
        except HuggingFaceAPIError as err:
            response.close()
            expired = watchdog is not None and watchdog.expired()
            error = APITimeoutError(late) if expired else err
            raise with_context(error, cand, response.headers) from err
        except BaseException:
            response.close()
            raise

    def _first_token(
        self,
        response: httpx.Response,
        clock: CallClock,
        cand: Candidate,
        watchdog: Watchdog | None,
        late: str,
    ) -> ChatStream:
        """Reads events until the first token, or the whole answer of a non-stream."""
        if response.status_code >= 300 or not is_event_stream(response):
            whole = whole_answer_events(response, self._read(response, watchdog))
            return ChatStream(response, None, whole, {}, cand)
        events = self._events(response, clock)
        buffered: list[dict[str, Any]] = []
        for event in events:
            buffered.append(event)
            if has_content(event) or (watchdog is not None and watchdog.expired()):
                break
            check_events_before_token(len(buffered), self.settings.limits)
        if watchdog is not None and watchdog.expired():
            raise APITimeoutError(late)
        return ChatStream(response, events, buffered, {}, cand)

    def _events(
        self, response: httpx.Response, clock: CallClock
    ) -> Generator[dict[str, Any], None, None]:
        """Decodes the response body into stream events until `[DONE]` or its end.

        After `[DONE]` the rest of the body is read, within bounds, so that
        the connection can be reused (`_stream_end`).
        """
        reader = EventReader(response.headers.get("content-encoding", ""), self.settings.limits)
        raw = raw_body(response)
        chunks = raw if clock.deadline is None else _within_total(raw, clock)
        received = 0
        with transport_errors():
            for chunk in chunks:
                received += len(chunk)
                yield from reader.feed(chunk)
                if reader.stopped:
                    break
            else:
                yield from reader.finish()
        reader.check()
        if reader.stopped:
            finish_body(response, raw, received)

    def __enter__(self) -> HFClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
