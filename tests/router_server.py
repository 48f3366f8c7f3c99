"""A fake Hugging Face router + Hub HTTP server for tests.

Built on asyncio streams only (stdlib), so a single thread can hold thousands of
concurrent keep-alive connections. Usage in tests::

    with RouterServer.running(models=DEFAULT_MODELS) as server:
        server.script("together", Step.error(429, headers={"Retry-After": "1"}))
        httpx.post(f"{server.url}/v1/chat/completions", json={...})

By hand: ``python -m tests.router_server --port 8765 [--require-token hf_xxx]``
(options in `tests.router_cli`). This module owns the state, the connections and
the routing; the data types are in `tests.router_script`, the payload builders in
`tests.router_payloads` and the HTTP reading/writing in `tests.router_wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import traceback
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from tests import router_payloads as rp
from tests import router_script as rs
from tests import router_wire as wire
from tests.router_script import DEFAULT_MODELS, RecordedRequest, Reply, Step

__all__ = ["DEFAULT_MODELS", "RecordedRequest", "RouterServer", "Step", "main"]

_BAD_TOKEN = "Invalid username or password."
_READ_LIMIT = 1 << 20


class RouterServer:
    """Fake router (chat completions, ``/v1/models``) and Hub (model mapping) API.

    Args:
        models: Repo id -> ``(provider, providerId, status, task)`` entries
            (default `DEFAULT_MODELS`).
        mapping_shape: ``"dict"`` (keyed by provider) or ``"list"`` mapping JSON.
        usage_style: Provider -> streaming usage style (default ``"last"``).
        answers: Provider -> default answer text (else ``"Hello from <p>."``).
        require_token: If set, chat requests need ``Authorization: Bearer <it>``.
        vision_models: Repos advertised with image input on ``/v1/models``.
        offers: Repo -> provider -> ``/v1/models`` fields (``pricing``,
            ``supports_tools``, ``first_token_latency_ms``, ...) merged over
            the defaults; also settable per test (cleared by `reset`).
    """

    def __init__(
        self,
        models: Mapping[str, list[rs.ProviderEntry]] | None = None,
        *,
        mapping_shape: rs.MappingShape = "dict",
        usage_style: Mapping[str, rs.UsageStyle] | None = None,
        answers: Mapping[str, str] | None = None,
        require_token: str | None = None,
        vision_models: frozenset[str] = rs.DEFAULT_VISION_MODELS,
        offers: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        source = DEFAULT_MODELS if models is None else models
        self.models = {repo: list(entries) for repo, entries in source.items()}
        self.mapping_shape = mapping_shape
        self.usage_style: dict[str, rs.UsageStyle] = dict(usage_style or {})
        self.answers = dict(answers or {})
        self.require_token = require_token
        self.vision_models = vision_models
        self._default_offers = {repo: dict(o) for repo, o in (offers or {}).items()}
        self.offers: dict[str, dict[str, Mapping[str, Any]]] = dict(self._default_offers)
        self._catalog_scripts: deque[Step] = deque()
        self._lock = threading.Lock()
        self._scripts: defaultdict[str, deque[Step]] = defaultdict(deque)
        self._hub_scripts: defaultdict[str, deque[Step]] = defaultdict(deque)
        self._failures: dict[str, tuple[float, int, random.Random, Step | None]] = {}
        self._requests: list[RecordedRequest] = []
        self._hub_counts: dict[str, int] = {}
        self._counter = 0
        self._injected = 0
        self._connections = 0
        self._conns: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closing = False
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------- scripting
    def script(self, provider: str, *steps: Step) -> None:
        """Queue steps (FIFO) for chat requests served by ``provider``."""
        with self._lock:
            self._scripts[provider].extend(steps)

    def script_hub(self, model: str, *steps: Step) -> None:
        """Queue steps (FIFO) for Hub model-info requests about ``model``."""
        with self._lock:
            self._hub_scripts[model].extend(steps)

    def script_catalog(self, *steps: Step) -> None:
        """Queue steps (FIFO) for ``GET /v1/models`` requests."""
        with self._lock:
            self._catalog_scripts.extend(steps)

    def set_offer(self, repo: str, provider: str, **fields: Any) -> None:
        """Set a provider's ``/v1/models`` fields for one repo (merged over defaults)."""
        with self._lock:
            self.offers.setdefault(repo, {})
            self.offers[repo] = {**self.offers[repo], provider: fields}

    @property
    def catalog_requests(self) -> int:
        """Number of ``GET /v1/models`` requests."""
        return sum(1 for r in self.requests if r.route == "models")

    def pending_steps(self, provider: str) -> int:
        """Number of queued, not yet consumed chat steps for ``provider``."""
        with self._lock:
            return len(self._scripts.get(provider, ()))

    def set_failure_rate(
        self,
        provider: str,
        rate: float,
        *,
        status: int = 503,
        seed: int | None = None,
        step: Step | None = None,
    ) -> None:
        """Fail unscripted requests to ``provider`` with probability ``rate``.

        A failing request gets ``status`` with its reason phrase, or is answered
        by ``step`` when given (e.g. ``Step.reset_after(200)`` for a stream cut
        mid-answer).
        """
        with self._lock:
            if rate <= 0:
                self._failures.pop(provider, None)
            else:
                self._failures[provider] = (rate, status, random.Random(seed), step)

    def stats(self) -> dict[str, Any]:
        """Counts for load runs: Hub requests, chat requests, injected failures.

        Also served as JSON at ``GET /_stats`` (for a server in another process).
        """
        with self._lock:
            chats = sum(1 for r in self._requests if r.route == "chat")
            return {
                "hub_requests": sum(self._hub_counts.values()),
                "chat_requests": chats,
                "failures_injected": self._injected,
            }

    def reset(self) -> None:
        """Clear scripts, failure rates, recorded requests and counters."""
        with self._lock:
            self._scripts.clear()
            self._hub_scripts.clear()
            self._catalog_scripts.clear()
            self.offers = dict(self._default_offers)
            self._failures.clear()
            self._requests.clear()
            self._hub_counts.clear()
            self._counter = 0
            self._injected = 0

    # -------------------------------------------------------- introspection
    @property
    def port(self) -> int:
        """The listening port (0 before start)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of all recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def chat_requests(self, provider: str | None = None) -> list[RecordedRequest]:
        """Recorded chat requests, optionally only those served by ``provider``."""
        return [
            r
            for r in self.requests
            if r.route == "chat" and (provider is None or r.provider == provider)
        ]

    @property
    def hub_requests(self) -> int:
        """Total number of Hub model-info requests."""
        with self._lock:
            return sum(self._hub_counts.values())

    @property
    def hub_requests_by_model(self) -> dict[str, int]:
        """Hub model-info request counts per repo id."""
        with self._lock:
            return dict(self._hub_counts)

    # ------------------------------------------------------------- running
    @classmethod
    @contextlib.contextmanager
    def running(cls, *, port: int = 0, **kwargs: Any) -> Iterator[RouterServer]:
        """Run a server in a daemon thread for the duration of a ``with`` block."""
        server = cls(**kwargs)
        server.start(port=port)
        try:
            yield server
        finally:
            server.stop()

    def start(self, *, host: str = "127.0.0.1", port: int = 0) -> RouterServer:
        """Start serving in a daemon thread; returns once listening."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(self.serve(host, port, on_ready=ready.set))
            except BaseException as exc:
                errors.append(exc)
            finally:
                ready.set()

        self._thread = threading.Thread(target=target, name="fake-router", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors or not self._port:
            self.stop()
            cause = errors[0] if errors else None
            raise RuntimeError("fake router failed to start") from cause
        return self

    def stop(self) -> None:
        """Stop the thread started by `start`, closing every connection."""
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(event.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_ready: Callable[[], object] | None = None,
    ) -> None:
        """Serve in the running loop until `stop` is called (or cancelled)."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._closing = False
        server = await asyncio.start_server(
            self._on_connect, host, port, limit=_READ_LIMIT, backlog=4096
        )
        self._port = server.sockets[0].getsockname()[1]
        try:
            if on_ready is not None:
                on_ready()
            await self._stop_event.wait()
        finally:
            self._closing = True
            server.close()
            for _ in range(3):  # also catch connections accepted while closing
                for task, writer in list(self._conns.items()):
                    writer.transport.abort()
                    task.cancel()
                await asyncio.gather(*self._conns, return_exceptions=True)
                await asyncio.sleep(0)
            await server.wait_closed()

    # ---------------------------------------------------------- connection
    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Register synchronously so that stop() sees connections whose task
        # has not started yet (their transports would leak otherwise).
        if self._closing:
            writer.transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._conns[task] = writer
        task.add_done_callback(lambda done: self._conns.pop(done, None))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._connections += 1
            conn = self._connections
        try:
            while (request := await wire.read_request(reader, conn)) is not None:
                req, keep_alive = request
                with self._lock:
                    self._requests.append(req)
                try:
                    reply = self._respond(req)
                except Exception as exc:  # a bug in the fake: say so, don't hang
                    traceback.print_exc()
                    reply = rp.json_reply(500, {"error": f"fake router bug: {exc!r}"})
                if not await wire.send_reply(writer, reply, keep_alive):
                    break
        except wire.BadRequestError:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n")
            writer.write(b"Connection: close\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    # ------------------------------------------------------------- routing
    def _respond(self, req: RecordedRequest) -> Reply:
        if req.route == "chat":
            return self._chat(req)
        if req.route == "other" and req.path == "/_stats":
            return rp.json_reply(200, self.stats())
        if req.route == "other":
            return rp.json_reply(404, {"error": "Not Found"})
        if req.method != "GET":
            return rp.phrase_reply(405)
        if req.route == "hub":
            return self._hub(req)
        with self._lock:
            step = self._catalog_scripts.popleft() if self._catalog_scripts else Step()
            offers = dict(self.offers)

        def default() -> Reply:
            return rp.json_reply(200, rp.catalogue(self.models, self.vision_models, offers))

        return rp.step_reply(step, {}, default)

    def _hub(self, req: RecordedRequest) -> Reply:
        repo = unquote(req.path[len(rp.HUB_PREFIX) :]).strip("/")
        entries = self.models.get(repo)
        with self._lock:
            self._hub_counts[repo] = self._hub_counts.get(repo, 0) + 1
            queue = self._hub_scripts.get(repo)
            step = queue.popleft() if queue else Step()

        def default() -> Reply:
            shape = self.mapping_shape
            return rp.hub_reply(repo, entries, req.query, shape=shape, url=self.url + req.path)

        return rp.step_reply(step, {}, default)

    def _chat(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self._counter += 1
            number = self._counter
        headers = {"x-request-id": f"req-{number}"}
        body = req.json if isinstance(req.json, dict) else None
        model = body.get("model") if body is not None else None
        token = self.require_token
        if token and req.headers.get("authorization") != f"Bearer {token}":
            headers["X-Error-Message"] = _BAD_TOKEN
            return rp.json_reply(401, {"error": _BAD_TOKEN}, headers)
        if req.method != "POST":
            return rp.phrase_reply(405, headers)
        if body is None or not isinstance(model, str) or not model:
            message = "Request body must be JSON with a 'model' string."
            error = {"message": message, "type": "invalid_request_error"}
            return rp.json_reply(400, {"error": error}, headers)
        request: dict[str, Any] = body
        router = req.path == rp.ROUTER_CHAT
        resolved = rp.resolve_model(self.models, model) if router else ("custom", model)
        if isinstance(resolved, Reply):
            resolved.headers.update(headers)
            return resolved
        provider, served_model = resolved
        req.provider = provider
        if router:
            headers["x-inference-provider"] = provider
        with self._lock:
            queue = self._scripts.get(provider)
            step = queue.popleft() if queue else None
            failure = self._failures.get(provider) if step is None else None
            failed = failure is not None and failure[2].random() < failure[0]
        if failure is not None and failed:
            with self._lock:
                self._injected += 1
            if failure[3] is None:
                return rp.phrase_reply(failure[1], headers)
            step = failure[3]
        chosen = step or Step()
        text = chosen.answer
        realistic = text is None and provider not in self.answers
        if text is None:
            text = self.answers.get(provider, f"Hello from {provider}.")

        def default() -> Reply:
            return rp.chat_reply(
                request,
                text,
                number=number,
                model=served_model,
                style=self.usage_style.get(provider, "last"),
                force_json=chosen.stream_json_for_stream,
                realistic=realistic,
            )

        return rp.step_reply(chosen, headers, default)


def main(argv: list[str] | None = None) -> None:
    """Run the fake router in the foreground until Ctrl-C (see `tests.router_cli`)."""
    from tests.router_cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
