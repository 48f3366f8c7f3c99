"""The retry-and-failover decision, written once for the sync and async drivers.

A `FailoverPlan` holds no I/O: a driver asks it for the first `Attempt`, sends
it, and on failure hands the error back to `next_after`, which answers with the
next `Attempt` (same provider after a backoff, or the next provider) or raises.
The drivers differ only in how they send and how they sleep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_hfapi._deadlines import MAX_PROVIDERS, MAX_RETRY_WAIT, CallClock
from langchain_hfapi._health import ProviderHealth
from langchain_hfapi._retry import MAX_RETRY_AFTER, backoff_delay
from langchain_hfapi.errors import (
    AllProvidersFailedError,
    APIConnectionError,
    HuggingFaceAPIError,
    ModelNotSupportedError,
    ParameterNotSupportedError,
    PaymentRequiredError,
    ProviderError,
    RateLimitError,
)

__all__ = ["Attempt", "Candidate", "FailoverPlan", "is_retryable", "should_move_on"]

logger = logging.getLogger("langchain_hfapi")  # records are redacted by its filter


@dataclass(frozen=True)
class Candidate:
    """One place a chat request can be sent.

    Attributes:
        repo_id: The Hub repo id (or the `base_url` model name).
        route: The provider slug or routing policy after the colon, or `None`
            for a `base_url` server.
        url: The chat-completions URL.
        wire_model: The value of the request's `model` field.
        provider_model_id: The provider's own id for the model, when known.
        skip: Why the router's catalog says this provider cannot serve the
            request (e.g. "unsupported_tools"); such a candidate is never
            sent, only recorded in `attempts`.
    """

    repo_id: str
    route: str | None
    url: str
    wire_model: str
    provider_model_id: str | None = None
    skip: str | None = None

    @property
    def label(self) -> str:
        """Names the candidate in errors and metadata."""
        return self.route or "custom"


@dataclass(frozen=True)
class Attempt:
    """One send of a request to a candidate.

    Attributes:
        candidate: Where to send.
        retry: 0 for the first try of this candidate, then 1, 2, ...
        delay: Seconds to wait before sending.
    """

    candidate: Candidate
    retry: int = 0
    delay: float = 0.0


def is_retryable(error: HuggingFaceAPIError) -> bool:
    """Checks whether the same provider may succeed on a later try.

    Args:
        error: The failure of an attempt.

    Returns:
        True for 429, 5xx, in-stream provider errors, connection errors and
        timeouts.
    """
    return isinstance(error, (RateLimitError, ProviderError, APIConnectionError))


def should_move_on(error: HuggingFaceAPIError) -> bool:
    """Checks whether another provider may succeed where this one failed.

    Args:
        error: The failure of an attempt.

    Returns:
        True for retryable errors, 402, "model not supported" and "parameter
        not supported"; False for 401/403 and other invalid requests, which
        no provider will accept.
    """
    movable = (PaymentRequiredError, ModelNotSupportedError, ParameterNotSupportedError)
    return is_retryable(error) or isinstance(error, movable)


@dataclass
class FailoverPlan:
    """Decides which candidate to try next and how long to wait first.

    Args:
        candidates: Providers to try, in order.
        max_retries: Retries of one provider on retryable errors.
        health: Shared provider health, to skip providers that are cooling down.
        rand: Source of uniform numbers for the backoff jitter.
        clock: The call's deadlines: no wait or attempt starts past
            `total_timeout`.

    At most `MAX_PROVIDERS` candidates are tried, and at most `MAX_RETRY_WAIT`
    seconds are spent waiting between retries; past that a provider that asked
    for another wait is left for the next one.
    """

    candidates: Sequence[Candidate]
    max_retries: int
    health: ProviderHealth | None = None
    rand: Callable[[], float] = random.random
    clock: CallClock | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)
    _queue: list[Candidate] = field(default_factory=list)
    _errors: list[HuggingFaceAPIError] = field(default_factory=list)
    _waited: float = 0.0
    _sent_at: float = 0.0

    def first(self) -> Attempt:
        """Returns the first attempt, skipping providers that are cooling down.

        Returns:
            The first `Attempt`; when every candidate is cooling down, the one
            whose cooldown ends first.

        Raises:
            ValueError: If there are no candidates.
        """
        usable = [c for c in self.candidates if c.skip is None][:MAX_PROVIDERS]
        if not usable:
            msg = "FailoverPlan needs at least one candidate to try"
            raise ValueError(msg)
        self.failures.extend(_record(c, c.skip, None) for c in self.candidates if c.skip)
        self._queue = list(usable)
        attempt = self._next_ready()
        if attempt is None:
            assert self.health is not None  # only health makes a candidate unready
            attempt = Attempt(min(usable, key=self.health.cooldown_ends))
        return self._stamp(attempt)

    def _stamp(self, attempt: Attempt) -> Attempt:
        """Notes when the attempt will be sent (after its delay), to time it."""
        self._sent_at = time.monotonic() + attempt.delay
        return attempt

    def _next_ready(self) -> Attempt | None:
        """Pops queued candidates until one is admitted; records the skipped ones.

        Admission is asked only of a candidate about to be tried, so a
        half-open provider's probe is claimed only by a call that uses it.
        """
        while self._queue:
            cand = self._queue.pop(0)
            if self.health is None or self.health.admits(cand):
                return Attempt(cand)
            self.failures.append(_record(cand, "cooling_down", None))
        return None

    def next_after(self, attempt: Attempt, error: HuggingFaceAPIError) -> Attempt:
        """Returns the attempt that follows a failed one.

        Args:
            attempt: The attempt that failed.
            error: Its error, with provider and model filled in.

        Returns:
            A retry of the same provider after a backoff, or the next provider.

        Raises:
            HuggingFaceAPIError: `error` itself when no provider can succeed
                (401, 403, invalid request) or when it was the only provider.
            AllProvidersFailedError: When several providers were tried and all
                failed.
        """
        cand = attempt.candidate
        self.failures.append(_record(cand, type(error).__name__, error.status_code))
        if self.health is not None:
            # A provider that answered with a non-retryable error is reachable.
            if is_retryable(error):
                self.health.record_failure(cand, error.retry_after)
            else:
                self.health.record_success(cand)
        if not should_move_on(error):
            raise error
        if self.clock is not None and self.clock.passed():
            late = self.clock.total_error().with_context(provider=cand.label, model=cand.repo_id)
            raise late from error
        retry_after = error.retry_after
        wait_ok = retry_after is None or retry_after <= MAX_RETRY_AFTER
        if is_retryable(error) and attempt.retry < self.max_retries and wait_ok:
            delay = backoff_delay(attempt.retry + 1, retry_after, self.rand)
            left = self.clock.remaining() if self.clock is not None else None
            if self._waited + delay <= MAX_RETRY_WAIT and (left is None or delay < left):
                following = self._instead_of_retry(cand, error)
                if following is not None:
                    return following
                self._waited += delay
                _log("retrying %s for %s after %s %s in %.2f s", cand, error, delay)
                return self._stamp(Attempt(cand, attempt.retry + 1, delay))
        self._errors.append(error)
        following = self._next_ready()
        if following is not None:
            to = following.candidate.label
            _log("failing over from %s for %s after %s %s to %s", cand, error, to)
            return self._stamp(following)
        if len(self._errors) == 1:
            raise error
        raise AllProvidersFailedError(self._errors, model=cand.repo_id) from error

    def _instead_of_retry(self, cand: Candidate, error: HuggingFaceAPIError) -> Attempt | None:
        """Returns the next provider when `cand` is now cooling down, else `None`.

        A retry asks the shared health first: when the provider's failures
        (this call's, or other calls' and processes') started a cooldown, the
        next ready provider is tried instead. With none ready, the retry goes on,
        as it does after a `Retry-After` (the provider named when to come back).
        """
        if self.health is None or not self._queue or error.retry_after is not None:
            return None
        if self.health.admits(cand):
            return None
        following = self._next_ready()
        if following is not None:
            self._errors.append(error)
            to = following.candidate.label
            _log("failing over from %s for %s after %s %s to %s (cooling down)", cand, error, to)
        return following

    def succeeded(self, attempt: Attempt) -> None:
        """Records that an attempt succeeded (health reset, latency measured).

        The latency, to the first token of a stream or to a whole answer, is
        added to the provider's measured speed.

        Args:
            attempt: The attempt that produced an answer.
        """
        if self.health is not None:
            self.health.record_success(attempt.candidate)
            latency = max(time.monotonic() - self._sent_at, 0.0)
            self.health.record_speed(attempt.candidate, latency)


def _log(template: str, cand: Candidate, error: HuggingFaceAPIError, *args: Any) -> None:
    """Logs a retry or a failover at INFO: provider, model, error, status, delay."""
    if logger.isEnabledFor(logging.INFO):
        status = error.status_code if error.status_code is not None else "-"
        logger.info(template, cand.label, cand.repo_id, type(error).__name__, status, *args)


def _record(cand: Candidate, error: str, status: int | None) -> dict[str, Any]:
    return {"provider": cand.label, "error": error, "status_code": status}
