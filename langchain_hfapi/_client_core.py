"""What the sync and async clients share, none of it I/O.

Settings, request headers and bodies, the one boundary where httpx exceptions
become package errors, response checks, stream-event parsing and the
attribution put on every answer.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from langchain_hfapi._auth import MISSING_TOKEN_HELP
from langchain_hfapi._completions import check_completion
from langchain_hfapi._error_bodies import error_from_response, excerpt
from langchain_hfapi._failover import Candidate, FailoverPlan
from langchain_hfapi._health import DEFAULT_COOLDOWN, DEFAULT_FAILURES, ProviderHealth
from langchain_hfapi._input_checks import check_connection, encode_json
from langchain_hfapi._mapping import DEFAULT_MAPPING_TTL
from langchain_hfapi._redact import scrub_exception
from langchain_hfapi._state import MappingView, StateStore, resolve_store
from langchain_hfapi._stream_events import Answer, completion_events
from langchain_hfapi._version import __version__
from langchain_hfapi.errors import (
    APIConnectionError,
    APITimeoutError,
    HuggingFaceAPIError,
    MalformedResponseError,
    MissingAuthError,
)

__all__ = [
    "DEFAULT_HUB_URL",
    "DEFAULT_ROUTER_URL",
    "Answer",
    "ClientCore",
    "ClientSettings",
    "header_timeout",
    "is_event_stream",
    "restore_body_timeout",
    "transport_errors",
    "whole_answer",
    "whole_answer_events",
]

DEFAULT_ROUTER_URL = "https://router.huggingface.co"
DEFAULT_HUB_URL = "https://huggingface.co"
CONNECT_TIMEOUT = 10.0  # seconds to open a connection, at most
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=CONNECT_TIMEOUT)  # per connect/read/write
USER_AGENT = f"langchain-hfapi/{__version__}"


@dataclass(frozen=True)
class ClientSettings:
    """Connection settings of one client (the "provider" side of the package).

    Attributes:
        api_key: The Hugging Face token; optional only with `base_url`.
        router_url: Base URL of the Inference Providers router.
        hub_url: Base URL of the Hub (provider mappings).
        base_url: An OpenAI-compatible server replacing the router.
        bill_to: Organization billed, sent as `X-HF-Bill-To`.
        default_headers: Extra headers on every request.
        timeout: Bound of each request's connect, write and every read
            (seconds or `httpx.Timeout`): a stalled request fails after it.
        max_retries: Retries of one provider before the next is tried.
        first_token_timeout: Seconds a stream may take to produce its first
            token (or a whole answer its headers) before the next provider.
        mapping_ttl: Seconds a fetched provider mapping stays fresh.
        provider_cooldown: Seconds a failing provider is skipped.
        provider_failures: Consecutive failures that start a cooldown.
        token_required: Whether router calls need a token (catalog lookups
            work without one).
    """

    api_key: SecretStr | None = None
    router_url: str = DEFAULT_ROUTER_URL
    hub_url: str = DEFAULT_HUB_URL
    base_url: str | None = None
    bill_to: str | None = None
    default_headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | httpx.Timeout | None = field(default_factory=lambda: DEFAULT_TIMEOUT)
    max_retries: int = 2
    first_token_timeout: float | None = None
    mapping_ttl: float = DEFAULT_MAPPING_TTL
    provider_cooldown: float = DEFAULT_COOLDOWN
    provider_failures: int = DEFAULT_FAILURES
    token_required: bool = True

    def __post_init__(self) -> None:
        """Strips the token and refuses settings that cannot be sent.

        Raises:
            ValueError: For a token, URL or header value that cannot be sent,
                or a timeout, TTL or cooldown that is NaN or infinite.
        """
        object.__setattr__(self, "api_key", check_connection(self))


@contextlib.contextmanager
def transport_errors(url: str = "") -> Iterator[None]:
    """Turns httpx transport exceptions into package errors (one boundary).

    The httpx exception, kept as `__cause__`, is redacted first (its text may
    quote a header or URL).

    Args:
        url: The URL being requested, named in the message.

    Raises:
        APITimeoutError: For any httpx timeout.
        ValueError: When httpx refused to send the request (a local mistake,
            never retried).
        APIConnectionError: For any other transport or protocol failure.
    """
    try:
        yield
    except httpx.TimeoutException as err:
        scrub_exception(err)
        where = f" to {url}" if url else ""
        raise APITimeoutError(f"request{where} timed out ({type(err).__name__})") from err
    except httpx.LocalProtocolError as err:
        scrub_exception(err)
        msg = f"the request could not be sent ({excerpt(str(err))}); check headers and URLs"
        raise ValueError(msg) from err
    except (httpx.TransportError, httpx.StreamError) as err:
        scrub_exception(err)
        detail = excerpt(str(err) or type(err).__name__)
        where = f" to {url}" if url else ""
        raise APIConnectionError(f"connection{where} failed: {detail}") from err


class ClientCore:
    """State and logic shared by `HFClient` and `AsyncHFClient`.

    Mapping cache and provider health live in a state store shared by every
    client of the process (or, with Redis, of every process), keyed by URL,
    token hash, model and provider; this client sees them with its settings.

    Args:
        settings: Connection settings.
        shared: Another client whose store this one uses too.
        store: The state store (default: the process's, unless `shared`).
    """

    def __init__(
        self,
        settings: ClientSettings,
        shared: ClientCore | None = None,
        store: StateStore | None = None,
    ) -> None:
        self.settings = settings
        if store is None:
            store = shared.store if shared is not None else resolve_store(None)
        self.store: StateStore = store
        self.mappings: MappingView = store.mappings(settings.mapping_ttl)
        self.health: ProviderHealth = store.health(
            settings.base_url or settings.router_url,
            settings.provider_cooldown,
            settings.provider_failures,
        )

    def token(self) -> str | None:
        """Returns the token, which is required unless `base_url` is set.

        Raises:
            MissingAuthError: If no token is configured for the router.
        """
        key = self.settings.api_key
        value = key.get_secret_value() if key is not None else None
        required = self.settings.token_required and self.settings.base_url is None
        if not value and required:
            raise MissingAuthError(MISSING_TOKEN_HELP)
        return value or None

    def headers(self, *, stream: bool = False, hub: bool = False) -> dict[str, str]:
        """Builds the request headers.

        Args:
            stream: Whether the answer is an event stream.
            hub: Whether the request goes to the Hub (no billing header).

        Returns:
            Headers with auth, user agent, billing and the user's extras.
        """
        headers = {"User-Agent": USER_AGENT, **self.settings.default_headers}
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if not hub:
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "text/event-stream" if stream else "application/json"
            if self.settings.bill_to:
                headers["X-HF-Bill-To"] = self.settings.bill_to
        return headers

    def plan(self, candidates: list[Candidate]) -> FailoverPlan:
        """Creates the failover plan for one call."""
        return FailoverPlan(candidates, self.settings.max_retries, self.health)

    def mapping_request(self, repo_id: str) -> tuple[str, dict[str, str]]:
        """Returns the Hub URL and query for a model's provider mapping."""
        url = f"{self.settings.hub_url.rstrip('/')}/api/models/{repo_id}"
        return url, {"expand": "inferenceProviderMapping"}


def header_timeout(settings: ClientSettings) -> httpx.Timeout:
    """Returns the timeout for sending a chat request and waiting for its headers.

    With `first_token_timeout`, the wait for the response headers is bounded by
    it (a provider that does not even answer is abandoned).
    """
    base = httpx.Timeout(settings.timeout)
    limit = settings.first_token_timeout
    if limit is None or (base.read is not None and base.read <= limit):
        return base
    return httpx.Timeout(connect=base.connect, read=limit, write=base.write, pool=base.pool)


def restore_body_timeout(response: httpx.Response, settings: ClientSettings) -> None:
    """Sets the normal read timeout for the body of a response.

    Used after sending with `header_timeout`: httpcore reads the request's
    timeout only when the body starts, so the body gets the normal bound.
    """
    response.request.extensions["timeout"] = httpx.Timeout(settings.timeout).as_dict()


def encode_body(wire_model: str, payload: Mapping[str, Any]) -> bytes:
    """Serializes the request with `model` as the first key (router routing).

    Args:
        wire_model: "repo:provider", "repo:policy" or a `base_url` model name.
        payload: The rest of the request.

    Returns:
        UTF-8 JSON, non-ASCII characters kept as they are.

    Raises:
        ValueError: If the payload holds a NaN, an infinity or a lone surrogate
            (a local mistake: never sent, never retried).
    """
    return encode_json({"model": wire_model, **payload})


def check_response(response: httpx.Response, body: bytes) -> None:
    """Raises the typed error of an HTTP error or redirect response.

    Redirects are never followed: the token is sent only to the configured
    router, Hub or `base_url` hosts.

    Raises:
        HuggingFaceAPIError: For any status >= 300.
    """
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        msg = f"unexpected redirect to {location} (not followed, to keep the token)"
        raise HuggingFaceAPIError(
            msg, status_code=status, request_id=response.headers.get("x-request-id")
        )
    if status >= 400:
        raise error_from_response(status, response.headers, body)


def decode_json(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """Decodes a whole answer, refusing HTML pages and non-objects.

    Raises:
        MalformedResponseError: If the body is not a JSON object.
    """
    kind = response.headers.get("content-type", "")
    text = body.decode("utf-8", errors="replace")
    if "html" in kind:
        msg = f"expected JSON, got an HTML page ({kind}): {excerpt(text, 120)}"
        raise MalformedResponseError(msg, status_code=response.status_code)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        msg = f"answer is not a JSON object: {excerpt(text, 120)}"
        raise MalformedResponseError(msg, status_code=response.status_code)
    return data


def is_event_stream(response: httpx.Response) -> bool:
    """Checks whether the response's content type is `text/event-stream`."""
    return "event-stream" in response.headers.get("content-type", "")


def raise_not_event_stream(response: httpx.Response, body: bytes) -> None:
    """Raises when a stream request got something other than an event stream.

    Args:
        response: The response, status already checked.
        body: Its body (read only when it is not an event stream).

    Raises:
        MalformedResponseError: With an excerpt of what came instead.
    """
    kind = response.headers.get("content-type", "")
    text = body.decode("utf-8", errors="replace")
    msg = f"expected an event stream, got {kind or 'no content type'}: {excerpt(text, 120)}"
    raise MalformedResponseError(msg, status_code=response.status_code)


def whole_answer(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """Checks a whole answer's status and shape and decodes it.

    Args:
        response: The response, headers read.
        body: Its whole body.

    Returns:
        The chat completion.

    Raises:
        HuggingFaceAPIError: The typed error of an error status, or
            `MalformedResponseError` for anything but a chat completion.
    """
    check_response(response, body)
    return check_completion(decode_json(response, body))


def whole_answer_events(response: httpx.Response, body: bytes) -> list[dict[str, Any]]:
    """Reads the answer to a stream request that is not an event stream.

    Some servers ignore `"stream": true` and send a whole JSON answer; it
    becomes one event.

    Args:
        response: The response, headers read.
        body: Its whole body.

    Returns:
        The whole answer as stream events.

    Raises:
        HuggingFaceAPIError: The typed error of an error status, or
            `MalformedResponseError` for anything but a JSON chat completion.
    """
    check_response(response, body)
    if "json" not in response.headers.get("content-type", ""):
        raise_not_event_stream(response, body)
    return completion_events(whole_answer(response, body))


def attribution(cand: Candidate, headers: httpx.Headers, plan: FailoverPlan) -> dict[str, Any]:
    """Builds the provider attribution for `response_metadata`.

    Args:
        cand: The candidate that answered.
        headers: Its response headers.
        plan: The call's plan, for the failed attempts before success.

    Returns:
        `model_name`, `provider`, `provider_model_id`, `request_id` and
        `attempts` (keys with unknown values are left out).
    """
    provider = headers.get("x-inference-provider") or (
        cand.route if cand.route is not None else None
    )
    meta: dict[str, Any] = {"model_name": cand.repo_id}
    if provider:
        meta["provider"] = provider
    if cand.provider_model_id:
        meta["provider_model_id"] = cand.provider_model_id
    if headers.get("x-request-id"):
        meta["request_id"] = headers["x-request-id"]
    meta["attempts"] = list(plan.failures)
    return meta


def with_context(
    err: HuggingFaceAPIError, cand: Candidate, headers: httpx.Headers | None = None
) -> HuggingFaceAPIError:
    """Names the candidate's provider, model and request id on an error."""
    request_id = headers.get("x-request-id") if headers is not None else None
    return err.with_context(provider=cand.label, model=cand.repo_id, request_id=request_id)
