"""What the router's catalog adds to a call: the first call, and every later one.

Loopback fake router (`tests.router_server`, in a child process, so its work is
not counted here) whose `/v1/models` lists `--models` models of four providers
each (the real catalog lists a few hundred), with prices and probe figures.
Medians of rounds:

- the first call of a process (Hub mapping and catalog both to fetch), against
  the first call with the catalog already cached: the difference is the
  catalog's fetch and parse (wall time);
- the catalog step of a later call on its own (cache hit, needs, preferences,
  order, cost), in CPU time, without and with `provider_sort="latency"`
  (which reads the measured speeds);
- later `invoke` calls end to end, with the catalog step and with it skipped
  (CPU time of this process; noisier).

Run: `.venv/bin/python -m benchmarks.catalog_overhead [--models 400] [--calls 300] [--rounds 5]`
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from langchain_core.messages import AIMessage, HumanMessage

import langchain_hfapi.chat_models as chat_models
from benchmarks.stream_cpu import free_port
from langchain_hfapi import ChatHuggingFaceAPI
from langchain_hfapi._call_setup import add_cost, prepare_call, route_call
from langchain_hfapi._catalog_access import forget_failures
from langchain_hfapi._state import PROCESS_STORE
from tests.router_script import DEFAULT_MODELS, EXAMPLE_OFFERS
from tests.router_server import RouterServer

REPO = "meta-llama/Llama-3.3-70B-Instruct"
PROVIDERS = ("together", "fireworks-ai", "novita", "cerebras")


def _catalog(size: int) -> tuple[dict[str, Any], dict[str, Any]]:
    models: dict[str, Any] = dict(DEFAULT_MODELS)
    offers: dict[str, Any] = {repo: dict(o) for repo, o in EXAMPLE_OFFERS.items()}
    for n in range(size):
        repo = f"bench-org/model-{n:04d}"
        models[repo] = [(p, f"{p}/model-{n}", "live", "conversational") for p in PROVIDERS]
        offers[repo] = {
            p: {
                "pricing": {"input": 0.1 + i / 10, "output": 0.3 + i / 10},
                "first_token_latency_ms": 300 + 100 * i,
                "throughput": 40.0 + i,
            }
            for i, p in enumerate(PROVIDERS)
        }
    return models, offers


def _serve(port: int, size: int) -> None:
    models, offers = _catalog(size)
    RouterServer(models=models, offers=offers).start(port=port)
    time.sleep(3600)


@contextmanager
def _router(size: int) -> Iterator[str]:
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, size))
    child.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/_stats", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.join()


def _model(url: str, **kwargs: Any) -> ChatHuggingFaceAPI:
    return ChatHuggingFaceAPI(model=REPO, api_key="hf_bench", router_url=url, hub_url=url, **kwargs)


def _catalog_step(llm: ChatHuggingFaceAPI, calls: int, rounds: int) -> float:
    """Median CPU µs of one call's catalog step (routing and cost), cache warm."""
    messages = [HumanMessage("hi")]
    client = llm.client
    answer = AIMessage(
        "hello",
        response_metadata={"provider": "together"},
        usage_metadata={"input_tokens": 10, "output_tokens": 20, "total_tokens": 30},
    )

    def step() -> None:
        call = prepare_call(llm, messages, None, stream=False, kwargs={})
        target = route_call(call, client, llm.catalog_ttl)
        client.candidates(target)  # the order and the skips (the mapping is cached)
        add_cost(answer, target)

    def bare() -> None:
        call = prepare_call(llm, messages, None, stream=False, kwargs={})
        client.candidates(call.target)

    step()
    cost, floor = [], []
    for _ in range(rounds):
        for run, into in ((step, cost), (bare, floor)):
            start = time.process_time()
            for _ in range(calls):
                run()
            into.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(cost) - statistics.median(floor)


def _first_call(server: str, prefetch: bool, rounds: int) -> tuple[float, float]:
    """Median (wall ms, CPU ms) of a process's first call (mapping to fetch; catalog too
    unless prefetched)."""
    samples, cpus = [], []
    for _ in range(rounds):
        PROCESS_STORE.clear()
        forget_failures()
        if prefetch:
            _model(server, provider="fastest").invoke("warm")  # caches the catalog only
        llm = _model(server)
        start, cpu = time.perf_counter(), time.process_time()
        llm.invoke("hi")
        samples.append((time.perf_counter() - start) * 1e3)
        cpus.append((time.process_time() - cpu) * 1e3)
    return statistics.median(samples), statistics.median(cpus)


def _later_calls(run: Callable[[], Any], calls: int, rounds: int) -> tuple[float, float]:
    """Median (wall µs, CPU µs) per call, everything cached."""
    run()
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            run()
        walls.append((time.perf_counter() - wall) / calls * 1e6)
        cpus.append((time.process_time() - cpu) / calls * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def _without_catalog() -> Callable[[], None]:
    """Skips the catalog step (routing and cost); returns the undo."""
    real, areal = chat_models.route_call, chat_models.aroute_call

    def plain(call: Any, client: Any, ttl: float) -> Any:
        return call.target

    chat_models.route_call = plain  # type: ignore[assignment]

    def undo() -> None:
        chat_models.route_call, chat_models.aroute_call = real, areal

    return undo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=400)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with _router(args.models) as server:
        cold = _first_call(server, prefetch=False, rounds=args.rounds)
        warm_catalog = _first_call(server, prefetch=True, rounds=args.rounds)
        llm = _model(server)
        sorted_llm = _model(server, provider_sort="latency")
        with_catalog = _later_calls(lambda: llm.invoke("hi"), args.calls, args.rounds)
        with_sort = _later_calls(lambda: sorted_llm.invoke("hi"), args.calls, args.rounds)
        undo = _without_catalog()
        try:
            without = _later_calls(lambda: llm.invoke("hi"), args.calls, args.rounds)
        finally:
            undo()
        step = _catalog_step(llm, args.calls * 10, args.rounds)
        step_sorted = _catalog_step(sorted_llm, args.calls * 10, args.rounds)
        catalog_requests = httpx.get(server + "/_stats").json()
    print(f"catalog: {args.models + len(DEFAULT_MODELS)} models; medians of {args.rounds} rounds")
    for label, (wall, cpu) in (
        ("first call, catalog to fetch:", cold),
        ("first call, catalog cached:", warm_catalog),
    ):
        print(f"{label:<35}{wall:8.2f} ms wall {cpu:8.2f} ms CPU")
    print(
        f"  -> the catalog adds to the first call: {cold[0] - warm_catalog[0]:.2f} ms wall "
        f"(the fake router builds the answer), {cold[1] - warm_catalog[1]:.2f} ms CPU here"
    )
    print(f"catalog step of a later call:      {step:8.1f} us CPU (cache hit, order, cost)")
    print(f"  with provider_sort='latency':    {step_sorted:8.1f} us CPU (+ measured speeds)")
    for label, (wall, cpu) in (
        ("later call, no catalog step:", without),
        ("later call, catalog + cost:", with_catalog),
        ("later call, + provider_sort:", with_sort),
    ):
        print(f"{label:<35}{wall:8.1f} us wall {cpu:8.1f} us CPU")
    print(
        f"  -> the catalog adds to later calls: {with_catalog[1] - without[1]:6.1f} us CPU "
        f"({with_sort[1] - without[1]:.1f} us with provider_sort='latency')"
    )
    print(f"fake router counts: {catalog_requests}")


if __name__ == "__main__":
    main()
