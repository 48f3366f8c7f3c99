"""Exit statuses of the command line, and the one-line message of each failure.

Every message names what failed: the Hub (mapping lookups), the router, the
server given with `--base-url`, or the provider that dropped an answer it had
started to stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import ValidationError

from langchain_hfapi._client_core import DEFAULT_HUB_URL, DEFAULT_ROUTER_URL
from langchain_hfapi.errors import (
    AllProvidersFailedError,
    APIConnectionError,
    APITimeoutError,
    HuggingFaceAPIError,
    MissingAuthError,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_FALLBACK",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "Servers",
    "UsageError",
    "check_url",
    "describe_failure",
]

EXIT_OK = 0
"""The command did what was asked."""
EXIT_FAILED = 1
"""A server answered with an error, every provider failed, or an answer was cut."""
EXIT_USAGE = 2
"""Usage or configuration: a bad option, no token, an invalid model name or URL."""
EXIT_UNREACHABLE = 3
"""No answer at all: the Hub, the router or the `--base-url` server was unreachable."""
EXIT_FALLBACK = 4
"""`models` printed the built-in list because the router could not be listed."""
EXIT_INTERRUPTED = 130
"""Interrupted with Ctrl-C (128 + SIGINT)."""
EXIT_BROKEN_PIPE = 141
"""The reader of standard output went away, e.g. `| head -1` (128 + SIGPIPE)."""


class UsageError(ValueError):
    """Raised for a command line that cannot run as given (exit status 2)."""


@dataclass(frozen=True)
class Servers:
    """Where a command sends its requests, to name the one that failed.

    Attributes:
        router_url: The router's base URL.
        hub_url: The Hub's base URL.
        base_url: The OpenAI-compatible server given with `--base-url`, if any.
    """

    router_url: str = DEFAULT_ROUTER_URL
    hub_url: str = DEFAULT_HUB_URL
    base_url: str | None = None

    def name(self, err: HuggingFaceAPIError) -> str:
        """Names the server an error came from, with its URL.

        Args:
            err: The error of a request.

        Returns:
            e.g. "the router at https://router.huggingface.co".
        """
        if err.provider == "hub":
            return f"the Hub at {self.hub_url}"
        if self.base_url is not None:
            return f"the --base-url server at {self.base_url}"
        return f"the router at {self.router_url}"

    def hint(self, err: HuggingFaceAPIError) -> str:
        """Says what to check when a server could not be reached.

        Args:
            err: The connection error.

        Returns:
            A parenthesized hint, starting with a space.
        """
        if err.provider == "hub":
            default, option = self.hub_url == DEFAULT_HUB_URL, "--hub-url or $HF_ENDPOINT"
        elif self.base_url is not None:
            return " (is it running?)"
        else:
            default, option = self.router_url == DEFAULT_ROUTER_URL, "--router-url"
        return " (check the internet connection)" if default else f" (check {option})"


def check_url(option: str, value: str) -> str:
    """Checks that an option's value is an http(s) URL with a host.

    Args:
        option: The option's name, e.g. "--router-url".
        value: Its value.

    Returns:
        The value.

    Raises:
        UsageError: If the value is not an http:// or https:// URL.
    """
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        valid = False
    if not valid:
        msg = f"{option} must be an http:// or https:// URL with a host, got {value!r}"
        raise UsageError(msg)
    return value


def _unreachable(err: HuggingFaceAPIError) -> bool:
    if isinstance(err, AllProvidersFailedError):
        return all(isinstance(e, APIConnectionError) for e in err.errors)
    return isinstance(err, APIConnectionError)


def describe_failure(
    err: Exception, servers: Servers, *, cut_provider: str | None = None
) -> tuple[int, str]:
    """Chooses the exit status and the one-line message of a failure.

    Args:
        err: What the command raised.
        servers: Where the command sent its requests.
        cut_provider: The provider whose answer had started to stream when
            `err` was raised ("unknown" when not named), or None.

    Returns:
        (exit status, message without the "error: " prefix).
    """
    if isinstance(err, MissingAuthError):
        return EXIT_USAGE, err.message
    if isinstance(err, ValidationError):
        problem = str(err.errors()[0]["msg"])
        return EXIT_USAGE, problem.removeprefix("Value error, ")
    if not isinstance(err, HuggingFaceAPIError):
        return EXIT_USAGE, str(err)
    if cut_provider is not None:
        how = "dropped the stream" if isinstance(err, APIConnectionError) else "failed"
        return EXIT_FAILED, f"provider {cut_provider} {how} mid-answer: {err}"
    if _unreachable(err):
        what = "no answer in time from" if isinstance(err, APITimeoutError) else "cannot reach"
        return EXIT_UNREACHABLE, f"{what} {servers.name(err)}{servers.hint(err)}: {err}"
    return EXIT_FAILED, f"{servers.name(err)}: {err}"
