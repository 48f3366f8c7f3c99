"""The synchronous Hugging Face client: mapping lookups and chat with failover.

`AsyncHFClient` in `_async_client.py` is its twin; both follow the same
`FailoverPlan` and differ only in how they send and sleep.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from langchain_hfapi._client_core import (
    Answer,
    ClientCore,
    ClientSettings,
    attribution,
    check_response,
    decode_json,
    encode_body,
    header_timeout,
    is_event_stream,
    restore_body_timeout,
    transport_errors,
    whole_answer,
    whole_answer_events,
    with_context,
)
from langchain_hfapi._failover import Candidate
from langchain_hfapi._mapping import ProviderMapping, cache_key, parse_mapping
from langchain_hfapi._pools import sync_pool
from langchain_hfapi._routing import Target, build_candidates
from langchain_hfapi._state import StateStore
from langchain_hfapi._stream_events import EventReader, has_content
from langchain_hfapi.errors import APITimeoutError, HuggingFaceAPIError

__all__ = ["ChatStream", "HFClient"]


class _Watchdog:
    """Shuts a response's socket down if the first token is late (sync only).

    A blocked `recv` cannot be interrupted from its own thread; shutting the
    socket down from a timer thread ends it with an error, which the caller
    turns into `APITimeoutError`.
    """

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self._deadline = deadline
        self._response = response
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def expired(self) -> bool:
        """Checks whether the deadline has passed."""
        return time.monotonic() >= self._deadline

    def cancel(self) -> None:
        """Stops the timer (the first token arrived, or the attempt ended)."""
        self._timer.cancel()


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
            with transport_errors(url):
                response = self.http.get(url, params=params, headers=self.headers(hub=True))
            check_response(response, response.content)
            return parse_mapping(decode_json(response, response.content))
        except HuggingFaceAPIError as err:
            raise err.with_context(model=repo_id, provider="hub") from err

    def candidates(self, target: Target) -> list[Candidate]:
        """Lists where a request for `target` may go, fetching the mapping if needed."""
        mapping = self.fetch_mapping(target.repo_id) if target.needs_mapping else None
        return build_candidates(target, self.settings.router_url, mapping)

    def get_json(self, url: str) -> Any:
        """Sends an authenticated GET and decodes the JSON answer."""
        with transport_errors(url):
            response = self.http.get(url, headers=self.headers(hub=True))
        check_response(response, response.content)
        return decode_json(response, response.content)

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
        plan = self.plan(self.candidates(target))
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                time.sleep(attempt.delay)
            headers: httpx.Headers | None = None
            try:
                response = self._send(cand, payload, stream=False)
                headers = response.headers
                answer = self._read_answer(response)
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
        plan = self.plan(self.candidates(target))
        attempt = plan.first()
        while True:
            cand = attempt.candidate
            if attempt.delay:
                time.sleep(attempt.delay)
            try:
                stream = self._prime(cand, payload)
            except HuggingFaceAPIError as err:
                attempt = plan.next_after(attempt, with_context(err, cand))
                continue
            plan.succeeded(attempt)
            stream.metadata.update(attribution(cand, stream._response.headers, plan))
            return stream

    def _send(self, cand: Candidate, payload: Mapping[str, Any], *, stream: bool) -> httpx.Response:
        """Sends one request; returns once the headers arrived (body unread)."""
        request = self.http.build_request(
            "POST",
            cand.url,
            content=encode_body(cand.wire_model, payload),
            headers=self.headers(stream=stream),
            timeout=header_timeout(self.settings),
        )
        try:
            with transport_errors(cand.url):
                response = self.http.send(request, stream=True)
        except APITimeoutError as err:
            limit = self.settings.first_token_timeout
            shortened = limit is not None and request.extensions["timeout"]["read"] == limit
            if shortened and isinstance(err.__cause__, httpx.ReadTimeout):
                raise APITimeoutError(f"no first token within {limit} s") from err
            raise
        restore_body_timeout(response, self.settings)
        return response

    def _read_answer(self, response: httpx.Response) -> Answer:
        """Reads a whole answer; a server that streamed anyway gives its events."""
        if response.status_code < 300 and is_event_stream(response):
            try:
                return list(self._events(response))
            finally:
                response.close()
        return whole_answer(response, self._read(response))

    @staticmethod
    def _read(response: httpx.Response) -> bytes:
        """Reads a whole body and returns the connection to the pool."""
        try:
            with transport_errors():
                return response.read()
        finally:
            response.close()

    def _prime(self, cand: Candidate, payload: Mapping[str, Any]) -> ChatStream:
        """Sends the request and reads events until the first token.

        With `first_token_timeout`, a watchdog shuts the socket down when the
        deadline passes before the first token, which ends a blocked read.
        """
        limit = self.settings.first_token_timeout
        deadline = None if limit is None else time.monotonic() + limit
        response = self._send(cand, payload, stream=True)
        watchdog = None if deadline is None else _Watchdog(response, deadline)
        try:
            if response.status_code >= 300 or not is_event_stream(response):
                whole = whole_answer_events(response, self._read(response))
                return ChatStream(response, None, whole, {}, cand)
            events = self._events(response)
            buffered: list[dict[str, Any]] = []
            for event in events:
                buffered.append(event)
                if has_content(event) or (watchdog is not None and watchdog.expired()):
                    break
            if watchdog is not None and watchdog.expired():
                raise APITimeoutError(f"no first token within {limit} s")
            return ChatStream(response, events, buffered, {}, cand)
        except HuggingFaceAPIError as err:
            response.close()
            late = watchdog is not None and watchdog.expired()
            error = APITimeoutError(f"no first token within {limit} s") if late else err
            raise with_context(error, cand, response.headers) from err
        except BaseException:
            response.close()
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()

    @staticmethod
    def _events(response: httpx.Response) -> Generator[dict[str, Any], None, None]:
        """Decodes the response body into stream events until `[DONE]` or its end."""
        reader = EventReader()
        with transport_errors():
            for chunk in response.iter_bytes():
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
