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
from langchain_hfapi._body_limits import ACCEPT_ENCODING, DEFAULT_LIMITS, BodyLimits
from langchain_hfapi._deadlines import CallClock
from langchain_hfapi._error_bodies import excerpt
from langchain_hfapi._failover import Candidate, FailoverPlan
from langchain_hfapi._health import DEFAULT_COOLDOWN, DEFAULT_FAILURES, ProviderHealth
from langchain_hfapi._input_checks import check_connection, encode_json
from langchain_hfapi._mapping import DEFAULT_MAPPING_TTL
from langchain_hfapi._redact import scrub_exception
from langchain_hfapi._state import MappingView, StateStore, resolve_store
from langchain_hfapi._stream_events import Answer
from langchain_hfapi._version import __version__
from langchain_hfapi.errors import (
    APIConnectionError,
    APITimeoutError,
    HuggingFaceAPIError,
    MissingAuthError,
)

__all__ = [
    "DEFAULT_HUB_URL",
    "DEFAULT_ROUTER_URL",
    "Answer",
    "ClientCore",
    "ClientSettings",
    "RequestBody",
    "transport_errors",
]

DEFAULT_ROUTER_URL = "https://router.huggingface.co"
DEFAULT_HUB_URL = "https://huggingface.co"
CONNECT_TIMEOUT = 10.0  # seconds to open a connection, at most
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=CONNECT_TIMEOUT)  # per connect/read/write
USER_AGENT = f"langchain-hfapi/{__version__}"
MAX_PARSED_URLS = 64  # URLs a client keeps parsed


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
        total_timeout: Seconds a whole call may take, retries and stream
            included (`_deadlines`).
        first_token_timeout: Seconds a stream may take to produce its first
            token (or a whole answer its headers) before the next provider.
        mapping_ttl: Seconds a fetched provider mapping stays fresh.
        provider_cooldown: Seconds a failing provider is skipped.
        provider_failures: Consecutive failures that start a cooldown.
        token_required: Whether router calls need a token (catalog lookups
            work without one).
        limits: Bounds on what is read from servers (`_body_limits`).
        http_timeout: `timeout` as an `httpx.Timeout`, built once (not an argument).
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
    total_timeout: float | None = None
    mapping_ttl: float = DEFAULT_MAPPING_TTL
    provider_cooldown: float = DEFAULT_COOLDOWN
    provider_failures: int = DEFAULT_FAILURES
    token_required: bool = True
    limits: BodyLimits = DEFAULT_LIMITS
    http_timeout: httpx.Timeout = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Strips the token and refuses settings that cannot be sent.

        Raises:
            ValueError: For a token, URL or header value that cannot be sent,
                or a timeout, TTL or cooldown that is NaN or infinite.
        """
        object.__setattr__(self, "api_key", check_connection(self))
        object.__setattr__(self, "http_timeout", httpx.Timeout(self.timeout))


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
        given: The user's httpx client, used instead of the shared pool.
    """

    def __init__(
        self,
        settings: ClientSettings,
        shared: ClientCore | None = None,
        store: StateStore | None = None,
        given: httpx.Client | httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.given = given
        self.timeout = settings.http_timeout
        self._urls: dict[str, httpx.URL] = {}
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
        headers = {
            "User-Agent": USER_AGENT,
            "Accept-Encoding": ACCEPT_ENCODING,  # what the bounded reader decodes
            **self.settings.default_headers,
        }
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if not hub:
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "text/event-stream" if stream else "application/json"
            if self.settings.bill_to:
                headers["X-HF-Bill-To"] = self.settings.bill_to
        return headers

    def build_request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """Builds a request for the user's httpx client, or for the shared pool.

        A user's client merges its own defaults in (headers, auth, cookies). For
        the shared pool the request is complete as built: parsed URLs are kept
        (a client has a handful of them), and the timeout travels with it.
        """
        if self.given is not None:
            return self.given.build_request(
                method, url, content=content, params=params, headers=headers, timeout=timeout
            )
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= MAX_PARSED_URLS:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return httpx.Request(
            method,
            parsed,
            params=params,
            content=content,
            headers=headers,
            extensions={"timeout": timeout.as_dict()},
        )

    def plan(self, candidates: list[Candidate], clock: CallClock) -> FailoverPlan:
        """Creates the failover plan for one call."""
        return FailoverPlan(candidates, self.settings.max_retries, self.health, clock=clock)

    def mapping_request(self, repo_id: str) -> tuple[str, dict[str, str]]:
        """Returns the Hub URL and query for a model's provider mapping."""
        url = f"{self.settings.hub_url.rstrip('/')}/api/models/{repo_id}"
        return url, {"expand": "inferenceProviderMapping"}


class RequestBody:
    """A chat request encoded once per call, before any request is sent.

    Each attempt puts its own `model` first (the router routes on it) in front
    of the same encoded rest.

    Args:
        payload: The request without `model`.

    Raises:
        ValueError: If the payload holds a NaN, an infinity or a lone surrogate
            (a local mistake: never sent, never retried).

    Example:
        >>> RequestBody({"stream": False}).for_model("m:together")
        b'{"model": "m:together", "stream": false}'
    """

    __slots__ = ("_rest",)

    def __init__(self, payload: Mapping[str, Any]) -> None:
        encoded = encode_json(payload)
        self._rest = b", " + encoded[1:] if len(encoded) > 2 else b"}"

    def for_model(self, wire_model: str) -> bytes:
        """Returns the body with `"model": wire_model` as its first key.

        Args:
            wire_model: "repo:provider", "repo:policy" or a `base_url` model name.

        Returns:
            UTF-8 JSON, non-ASCII characters kept as they are.
        """
        return b'{"model": ' + json.dumps(wire_model, ensure_ascii=False).encode() + self._rest


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
