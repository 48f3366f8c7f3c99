"""Tests for the retry arithmetic (`langchain_hfapi._retry`)."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from langchain_hfapi._retry import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    backoff_delay,
    parse_retry_after,
)

NOW = 1_700_000_000.0  # a fixed "current" Unix time for HTTP dates


def fixed_now() -> float:
    return NOW


def http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


# --- parse_retry_after ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("2", 2.0), ("1.5", 1.5), (" 3 ", 3.0), ("120", 120.0), ("-5", 0.0)],
)
def test_retry_after_seconds(value: str, expected: float) -> None:
    assert parse_retry_after({"retry-after": value}) == expected


@pytest.mark.parametrize(("offset", "expected"), [(30, 30.0), (3600, 3600.0), (0, 0.0)])
def test_retry_after_http_date_in_the_future(offset: float, expected: float) -> None:
    assert parse_retry_after({"retry-after": http_date(offset)}, now=fixed_now) == expected


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert parse_retry_after({"retry-after": http_date(-600)}, now=fixed_now) == 0.0


def test_retry_after_http_date_with_numeric_zone() -> None:
    # 2023-11-14 22:13:20 UTC == NOW; the same instant written at +0100.
    value = "Tue, 14 Nov 2023 23:13:50 +0100"
    assert parse_retry_after({"retry-after": value}, now=fixed_now) == 30.0


def test_retry_after_ms_wins_over_retry_after() -> None:
    headers = {"retry-after-ms": "250", "retry-after": "9"}
    assert parse_retry_after(headers) == 0.25


def test_invalid_retry_after_ms_falls_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "soon", "retry-after": "4"}) == 4.0
    assert parse_retry_after({"retry-after-ms": "soon"}) is None


def test_negative_retry_after_ms_is_zero() -> None:
    assert parse_retry_after({"retry-after-ms": "-10"}) == 0.0


@pytest.mark.parametrize("value", ["", "soon", "Mon, 99 Foo 2024", "1s"])
def test_unparseable_retry_after_is_none(value: str) -> None:
    assert parse_retry_after({"retry-after": value}, now=fixed_now) is None


def test_missing_retry_after_is_none() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"x-ratelimit-reset": "5"}) is None


def test_retry_after_reads_case_insensitive_headers() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "6"})) == 6.0
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "6000"})) == 6.0


def test_retry_after_uses_the_given_clock_only_for_dates() -> None:
    calls: list[int] = []

    def clock() -> float:
        calls.append(1)
        return NOW

    assert parse_retry_after({"retry-after": "5"}, now=clock) == 5.0
    assert calls == []
    assert parse_retry_after({"retry-after": http_date(10)}, now=clock) == 10.0
    assert calls == [1]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
def test_retry_after_non_finite_is_rejected(header: str, value: str) -> None:
    assert parse_retry_after({header: value}) is None


def test_non_finite_retry_after_ms_falls_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "nan", "retry-after": "3"}) == 3.0


# --- backoff_delay ------------------------------------------------------------------------


def test_backoff_doubles_from_initial_delay_up_to_the_cap() -> None:
    delays = [backoff_delay(n, rand=lambda: 0.0) for n in range(1, 9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert delays[0] == INITIAL_RETRY_DELAY
    assert max(delays) == MAX_RETRY_DELAY


def test_backoff_is_non_decreasing_without_jitter() -> None:
    delays = [backoff_delay(n, rand=lambda: 0.0) for n in range(1, 30)]
    assert delays == sorted(delays)


@pytest.mark.parametrize("retry", [1, 2, 3, 4, 5, 10])
def test_backoff_jitter_takes_off_at_most_a_quarter(retry: int) -> None:
    full = backoff_delay(retry, rand=lambda: 0.0)
    assert backoff_delay(retry, rand=lambda: 0.5) == pytest.approx(full * 0.875)
    lowest = backoff_delay(retry, rand=lambda: 0.999999)
    assert full * 0.75 <= lowest < full


def test_backoff_with_real_randomness_stays_in_range() -> None:
    for retry in range(1, 8):
        full = backoff_delay(retry, rand=lambda: 0.0)
        for _ in range(50):
            assert full * 0.75 <= backoff_delay(retry) <= full


@pytest.mark.parametrize("retry_after", [0.0, 0.25, 3.0, 30.0, MAX_RETRY_AFTER])
def test_backoff_retry_after_replaces_the_computed_delay(retry_after: float) -> None:
    assert backoff_delay(1, retry_after, rand=lambda: 0.9) == retry_after
    assert backoff_delay(7, retry_after, rand=lambda: 0.9) == retry_after


def test_backoff_retry_after_is_not_capped_at_max_retry_delay() -> None:
    # Capping a long Retry-After is the failover plan's job (it moves on).
    assert backoff_delay(1, MAX_RETRY_DELAY * 3) == MAX_RETRY_DELAY * 3


def test_constants_are_consistent() -> None:
    assert 0 < INITIAL_RETRY_DELAY < MAX_RETRY_DELAY < MAX_RETRY_AFTER


@pytest.mark.parametrize("retry", [17, 1025, 1100, 10**6])
def test_backoff_for_a_very_high_retry_number_is_the_cap(retry: int) -> None:
    assert backoff_delay(retry, rand=lambda: 0.0) == MAX_RETRY_DELAY
