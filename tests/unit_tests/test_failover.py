"""Tests for the failover plan (`_failover`) and provider health (`_health`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from langchain_hfapi._failover import (
    Attempt,
    Candidate,
    FailoverPlan,
    is_retryable,
    should_move_on,
)
from langchain_hfapi._health import ProviderHealth
from langchain_hfapi._retry import MAX_RETRY_AFTER
from langchain_hfapi.errors import (
    AllProvidersFailedError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    HuggingFaceAPIError,
    InputTooLongError,
    InvalidRequestError,
    MalformedResponseError,
    ModelNotSupportedError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
)

REPO = "org/model"
URL = "https://router.example/v1/chat/completions"


def cand(route: str | None, repo: str = REPO) -> Candidate:
    return Candidate(repo, route, URL, f"{repo}:{route}" if route else repo)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plan_for(
    *routes: str, max_retries: int = 2, health: ProviderHealth | None = None
) -> FailoverPlan:
    return FailoverPlan([cand(r) for r in routes], max_retries, health=health, rand=lambda: 0.0)


Outcome = HuggingFaceAPIError | None  # None: the attempt succeeded


def drive(plan: FailoverPlan, outcomes: dict[str, list[Outcome]], log: list[Attempt]) -> Attempt:
    """Plays a driver: sends each attempt, feeding the scripted outcome back to the plan."""
    attempt = plan.first()
    while True:
        log.append(attempt)
        outcome = outcomes[attempt.candidate.label].pop(0)
        if outcome is None:
            plan.succeeded(attempt)
            return attempt
        attempt = plan.next_after(attempt, outcome)


def tried(log: list[Attempt]) -> list[tuple[str, int, float]]:
    return [(a.candidate.label, a.retry, a.delay) for a in log]


RETRYABLE: list[Callable[[str], HuggingFaceAPIError]] = [
    lambda p: RateLimitError("slow", status_code=429, provider=p),
    lambda p: ProviderError("bad gateway", status_code=502, provider=p),
    lambda p: ProviderError("unavailable", status_code=503, provider=p),
    lambda p: MalformedResponseError("no choices", status_code=200, provider=p),
    lambda p: APIConnectionError("refused", provider=p),
    lambda p: APITimeoutError("timed out", provider=p),
]
RETRYABLE_IDS = ["429", "502", "503", "malformed", "connection", "timeout"]
FATAL: list[Callable[[str], HuggingFaceAPIError]] = [
    lambda p: AuthenticationError("bad token", status_code=401, provider=p),
    lambda p: PermissionDeniedError("gated", status_code=403, provider=p),
    lambda p: InvalidRequestError("bad request", status_code=400, provider=p),
    lambda p: InvalidRequestError("unprocessable", status_code=422, provider=p),
    lambda p: InputTooLongError("too long", status_code=400, provider=p),
]
FATAL_IDS = ["401", "403", "400", "422", "too-long"]


# --- classification ------------------------------------------------------------------


@pytest.mark.parametrize("make", RETRYABLE, ids=RETRYABLE_IDS)
def test_retryable_errors_are_retried_and_move_on(
    make: Callable[[str], HuggingFaceAPIError],
) -> None:
    assert is_retryable(make("a"))
    assert should_move_on(make("a"))


@pytest.mark.parametrize("make", FATAL, ids=FATAL_IDS)
def test_client_errors_are_neither_retried_nor_moved_on(
    make: Callable[[str], HuggingFaceAPIError],
) -> None:
    assert not is_retryable(make("a"))
    assert not should_move_on(make("a"))


@pytest.mark.parametrize("cls", [PaymentRequiredError, ModelNotSupportedError])
def test_402_and_not_supported_move_on_without_retry(cls: type[HuggingFaceAPIError]) -> None:
    assert not is_retryable(cls("x"))
    assert should_move_on(cls("x"))


# --- retries of one provider -------------------------------------------------------------


@pytest.mark.parametrize("make", RETRYABLE, ids=RETRYABLE_IDS)
def test_failover_retries_same_provider_with_growing_delays(
    make: Callable[[str], HuggingFaceAPIError],
) -> None:
    log: list[Attempt] = []
    plan = plan_for("a", "b", max_retries=3)
    drive(plan, {"a": [make("a"), make("a"), make("a"), None]}, log)
    assert tried(log) == [("a", 0, 0.0), ("a", 1, 0.5), ("a", 2, 1.0), ("a", 3, 2.0)]


def test_failover_single_candidate_raises_its_own_error_after_max_retries() -> None:
    errors = [ProviderError(f"down {i}", status_code=503, provider="a") for i in range(3)]
    log: list[Attempt] = []
    with pytest.raises(ProviderError) as info:
        drive(plan_for("a", max_retries=2), {"a": list(errors)}, log)
    assert info.value is errors[-1]
    assert [a.retry for a in log] == [0, 1, 2]


def test_failover_max_retries_zero_moves_on_at_once() -> None:
    log: list[Attempt] = []
    drive(plan_for("a", "b", max_retries=0), {"a": [RETRYABLE[1]("a")], "b": [None]}, log)
    assert tried(log) == [("a", 0, 0.0), ("b", 0, 0.0)]


def test_failover_exhausted_retries_move_to_next_provider() -> None:
    log: list[Attempt] = []
    outcomes: dict[str, list[Outcome]] = {"a": [RETRYABLE[0]("a")] * 3, "b": [None]}
    final = drive(plan_for("a", "b", max_retries=2), outcomes, log)
    assert final.candidate.label == "b"
    assert tried(log)[-1] == ("b", 0, 0.0)


def test_failover_honours_retry_after() -> None:
    log: list[Attempt] = []
    limited = RateLimitError("slow", status_code=429, provider="a", retry_after=5.0)
    drive(plan_for("a", "b"), {"a": [limited, None]}, log)
    assert tried(log) == [("a", 0, 0.0), ("a", 1, 5.0)]


def test_failover_retry_after_at_the_cap_is_still_waited() -> None:
    log: list[Attempt] = []
    limited = RateLimitError("slow", status_code=429, provider="a", retry_after=MAX_RETRY_AFTER)
    drive(plan_for("a", "b"), {"a": [limited, None]}, log)
    assert tried(log)[1] == ("a", 1, MAX_RETRY_AFTER)


def test_failover_retry_after_above_the_cap_moves_on() -> None:
    log: list[Attempt] = []
    limited = RateLimitError("slow", status_code=429, provider="a", retry_after=MAX_RETRY_AFTER + 1)
    drive(plan_for("a", "b", max_retries=5), {"a": [limited], "b": [None]}, log)
    assert tried(log) == [("a", 0, 0.0), ("b", 0, 0.0)]


def test_failover_retry_after_above_the_cap_single_candidate_raises() -> None:
    limited = RateLimitError("slow", status_code=429, provider="a", retry_after=3600.0)
    with pytest.raises(RateLimitError) as info:
        drive(plan_for("a", max_retries=5), {"a": [limited]}, [])
    assert info.value is limited


# --- moving on, raising at once -----------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        PaymentRequiredError("no credits", status_code=402, provider="a"),
        ModelNotSupportedError("not supported", status_code=400, provider="a"),
    ],
    ids=["402", "not-supported"],
)
def test_failover_moves_on_at_once_without_retry(error: HuggingFaceAPIError) -> None:
    log: list[Attempt] = []
    drive(plan_for("a", "b", max_retries=3), {"a": [error], "b": [None]}, log)
    assert tried(log) == [("a", 0, 0.0), ("b", 0, 0.0)]


@pytest.mark.parametrize("make", FATAL, ids=FATAL_IDS)
def test_failover_raises_at_once_on_client_errors(
    make: Callable[[str], HuggingFaceAPIError],
) -> None:
    log: list[Attempt] = []
    error = make("a")
    plan = plan_for("a", "b", "c", max_retries=3)
    with pytest.raises(HuggingFaceAPIError) as info:
        drive(plan, {"a": [error], "b": [None], "c": [None]}, log)
    assert info.value is error
    assert tried(log) == [("a", 0, 0.0)]


def test_failover_raises_client_error_of_a_later_provider_directly() -> None:
    auth = AuthenticationError("bad token", status_code=401, provider="b")
    outcomes: dict[str, list[Outcome]] = {
        "a": [PaymentRequiredError("p", status_code=402, provider="a")],
        "b": [auth],
    }
    with pytest.raises(AuthenticationError) as info:
        drive(plan_for("a", "b", "c"), outcomes, [])
    assert info.value is auth


def test_failover_all_failed_lists_each_provider() -> None:
    last_a = ProviderError("down", status_code=503, provider="a", model=REPO)
    b = PaymentRequiredError("no credits", status_code=402, provider="b", model=REPO)
    c = APIConnectionError("refused", provider="c", model=REPO)
    outcomes: dict[str, list[Outcome]] = {"a": [RETRYABLE[1]("a"), last_a], "b": [b], "c": [c, c]}
    plan = plan_for("a", "b", "c", max_retries=1)
    with pytest.raises(AllProvidersFailedError) as info:
        drive(plan, outcomes, [])
    err = info.value
    assert err.errors == [last_a, b, c]
    assert err.model == REPO
    assert err.__cause__ is c
    assert err.message == (
        "All providers failed: a: ProviderError 503 down; "
        "b: PaymentRequiredError 402 no credits; c: APIConnectionError refused"
    )
    assert plan.failures == [
        {"provider": "a", "error": "ProviderError", "status_code": 502},
        {"provider": "a", "error": "ProviderError", "status_code": 503},
        {"provider": "b", "error": "PaymentRequiredError", "status_code": 402},
        {"provider": "c", "error": "APIConnectionError", "status_code": None},
        {"provider": "c", "error": "APIConnectionError", "status_code": None},
    ]


def test_failover_without_candidates_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one candidate"):
        FailoverPlan([], 2).first()


def test_candidate_label_is_route_or_custom() -> None:
    assert cand("together").label == "together"
    assert cand(None).label == "custom"


# --- provider health ----------------------------------------------------------------------


def health_with_clock(cooldown: float = 30.0) -> tuple[ProviderHealth, Clock]:
    clock = Clock()
    return ProviderHealth(cooldown=cooldown, failures=3, clock=clock), clock


def trip(health: ProviderHealth, route: str) -> None:
    for _ in range(3):
        health.record_failure(cand(route))


def test_health_three_consecutive_failures_skip_provider() -> None:
    health, _ = health_with_clock()
    drive(
        plan_for("a", "b", max_retries=2, health=health),
        {"a": [RETRYABLE[1]("a")] * 3, "b": [None]},
        [],
    )
    log: list[Attempt] = []
    plan = plan_for("a", "b", health=health)
    drive(plan, {"b": [None]}, log)
    assert tried(log) == [("b", 0, 0.0)]
    assert plan.failures == [{"provider": "a", "error": "cooling_down", "status_code": None}]


def test_health_two_failures_do_not_trip() -> None:
    health, _ = health_with_clock()
    health.record_failure(cand("a"))
    health.record_failure(cand("a"))
    assert health.admits(cand("a"))
    assert health.cooldown_ends(cand("a")) == 0.0


def test_health_success_resets_the_count() -> None:
    health, _ = health_with_clock()
    for _ in range(2):
        health.record_failure(cand("a"))
    health.record_success(cand("a"))
    for _ in range(2):
        health.record_failure(cand("a"))
    assert health.admits(cand("a"))


def test_health_non_retryable_answer_counts_as_reachable() -> None:
    health, _ = health_with_clock()
    health.record_failure(cand("a"))
    health.record_failure(cand("a"))
    with pytest.raises(InvalidRequestError):
        drive(plan_for("a", health=health), {"a": [FATAL[2]("a")]}, [])
    health.record_failure(cand("a"))
    assert health.admits(cand("a"))


def test_health_all_cooling_tries_the_one_whose_cooldown_ends_first() -> None:
    health, clock = health_with_clock()
    trip(health, "b")  # cools until 1030
    clock.now += 10
    trip(health, "a")  # cools until 1040
    clock.now += 5
    log: list[Attempt] = []
    plan = plan_for("a", "b", health=health)
    drive(plan, {"b": [None]}, log)
    assert tried(log) == [("b", 0, 0.0)]
    assert [f["error"] for f in plan.failures] == ["cooling_down", "cooling_down"]
    assert health.cooldown_ends(cand("b")) == 0.0  # the success closed it


def test_health_probe_after_cooldown_admits_one_call() -> None:
    health, clock = health_with_clock()
    trip(health, "a")
    assert not health.admits(cand("a"))
    clock.now += 29.9
    assert not health.admits(cand("a"))
    clock.now += 0.2
    assert health.admits(cand("a"))  # the probe
    assert not health.admits(cand("a"))  # others wait while it runs
    health.record_success(cand("a"))
    assert health.admits(cand("a"))
    assert health.admits(cand("a"))


def test_health_abandoned_probe_expires_after_another_cooldown() -> None:
    health, clock = health_with_clock()
    trip(health, "a")
    clock.now += 31
    assert health.admits(cand("a"))  # the probe's call never reports back
    clock.now += 29
    assert not health.admits(cand("a"))
    clock.now += 2
    assert health.admits(cand("a"))


def test_health_failed_probe_reopens_the_cooldown() -> None:
    health, clock = health_with_clock()
    trip(health, "a")
    clock.now += 31
    assert health.admits(cand("a"))
    health.record_failure(cand("a"))
    assert health.cooldown_ends(cand("a")) == clock.now + 30
    assert not health.admits(cand("a"))
    clock.now += 31
    assert health.admits(cand("a"))


def test_health_probe_through_the_plan_after_cooldown() -> None:
    health, clock = health_with_clock()
    trip(health, "a")
    clock.now += 31
    log: list[Attempt] = []
    drive(plan_for("a", "b", health=health), {"a": [None]}, log)
    assert tried(log) == [("a", 0, 0.0)]
    assert health.cooldown_ends(cand("a")) == 0.0


def test_health_is_per_model_and_provider() -> None:
    health, _ = health_with_clock()
    trip(health, "a")
    assert not health.admits(cand("a"))
    assert health.admits(cand("a", repo="org/other"))
    assert health.admits(cand("b"))


def test_health_probe_is_claimed_only_by_the_call_that_tries_the_provider() -> None:
    health, clock = health_with_clock()
    trip(health, "b")
    clock.now += 100  # b's cooldown is long over
    drive(plan_for("a", "b", health=health), {"a": [None]}, [])  # a answers; b untouched
    log: list[Attempt] = []
    outcomes: dict[str, list[Outcome]] = {"a": [RETRYABLE[1]("a")], "b": [None]}
    drive(plan_for("a", "b", max_retries=0, health=health), outcomes, log)
    assert tried(log) == [("a", 0, 0.0), ("b", 0, 0.0)]


def test_a_retry_fails_over_when_other_calls_opened_the_providers_cooldown() -> None:
    health, _ = health_with_clock()
    plan = plan_for("a", "b", max_retries=2, health=health)
    attempt = plan.first()
    trip(health, "a")  # meanwhile, other calls (or processes, through Redis) saw "a" fail
    following = plan.next_after(attempt, RETRYABLE[2]("a"))
    assert (following.candidate.label, following.retry, following.delay) == ("b", 0, 0.0)


def test_a_retry_goes_on_when_no_other_provider_is_ready() -> None:
    health, _ = health_with_clock()
    plan = plan_for("a", max_retries=2, health=health)
    attempt = plan.first()
    trip(health, "a")
    following = plan.next_after(attempt, RETRYABLE[2]("a"))
    assert (following.candidate.label, following.retry) == ("a", 1)


def test_a_retry_after_is_honoured_on_the_same_provider_even_when_paused() -> None:
    health, _ = health_with_clock()
    plan = plan_for("a", "b", max_retries=2, health=health)
    attempt = plan.first()
    limited = RateLimitError("slow", status_code=429, provider="a", retry_after=1.0)
    following = plan.next_after(attempt, limited)  # records a 1 s pause for "a"
    assert (following.candidate.label, following.retry, following.delay) == ("a", 1, 1.0)
