"""A tiny run of `benchmarks/load_shared.py`: worker processes, process store vs Redis.

The benchmark's own 30 % failure rate lets successes reset the failure count, so
how many failed requests it takes to learn the outage is random. Here the
provider fails every request, which makes the counts exact: with
`provider_failures` F, a cooldown longer than the run and no retries, a worker
on its own sends F to F + M - 1 failed requests (M lanes in flight), so N
workers each learning alone send at least N x F. Sharing health through Redis,
the provider is skipped by everyone once the shared count reaches F: at most
F - 1 + (requests in flight then) <= F + N x M - 1 failed requests in all.
"""

from __future__ import annotations

import pytest

from tests.redis_server import redis_server_path

WORKERS, LANES, ROUNDS, FAILURES = 3, 2, 8, 4
SHARED_BOUND = FAILURES + WORKERS * LANES - 1  # 9
ALONE_AT_LEAST = WORKERS * FAILURES  # 12: what the bound rules out

pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(
        redis_server_path() is None,
        reason="redis-server is not on PATH (apt-get install redis-server)",
    ),
]


def test_shared_health_bounds_failed_requests_and_redis_stop_fails_no_call() -> None:
    from benchmarks.load_shared import run

    assert SHARED_BOUND < ALONE_AT_LEAST
    results = run(
        [
            *("--workers", str(WORKERS), "--streams", str(LANES), "--rounds", str(ROUNDS)),
            *("--failure-rate", "1.0", "--provider-failures", str(FAILURES)),
            *("--max-retries", "0", "--cooldown", "120", "--restart-after", "0.3"),
            *("--redis-timeout", "1.0"),  # a slow CI machine is not what this checks
        ]
    )
    streams = WORKERS * LANES * ROUNDS
    for name, result in results.items():
        outcome = result["outcome"]
        assert outcome.streams == streams, name
        assert outcome.wrong == 0, name
        assert outcome.untyped == 0, name
        assert outcome.completed == streams, (name, outcome.typed)  # the next provider answers
    failed = {name: r["stats"]["failures_injected"] for name, r in results.items()}
    assert failed["process"] >= ALONE_AT_LEAST, failed  # each worker learned alone
    assert failed["redis"] <= SHARED_BOUND, failed  # learned once for all
    assert results["redis"]["outcome"].fallback_ops == 0  # Redis was really used
    hub = {name: r["stats"]["hub_requests"] for name, r in results.items()}
    assert hub["process"] == WORKERS, hub
    assert hub["redis"] == 1, hub  # single flight across processes
    stopped = results["redis-stop"]
    assert stopped["stops"], stopped  # redis-server was stopped (and restarted)
    assert stopped["outcome"].fallback_ops > 0  # calls went on with process state
