"""Runs the Python examples of the documentation and checks what they print.

Conventions (described in docs/testing.md):

- Every ```python block of a page runs, in page order, in one namespace per page
  (a later block may use names an earlier one defined).
- A ```text block that follows a Python block (only blank lines between) is the
  output that block prints; `...` matches any text (doctest's ELLIPSIS). A
  Python block without one must print nothing.
- `<!-- no-run -->` (or `<!-- no-run: reason -->`) on a line just before a
  block skips it (signatures, or code that needs the real network).
- `<!-- fake-catalog -->` anywhere on a page makes the fake router's `/v1/models`
  list prices, capabilities and probe figures (`EXAMPLE_OFFERS`) for that page.
- `<!-- fake-router: PROVIDER REPLY ... -->` just before a block scripts the next
  chat replies of PROVIDER on the fake router: an HTTP status (`503`), `reset`
  (connection closed before any byte), `reset-mid-stream` (closed after the
  first tokens of the answer), or `slow` (two seconds before the first byte).

Requests for router.huggingface.co, huggingface.co and localhost:8080 are sent
to the loopback fake router instead, so examples run as a reader writes them.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from langchain_hfapi._catalog_access import forget_failures
from langchain_hfapi._state import PROCESS_STORE
from tests.router_script import EXAMPLE_OFFERS
from tests.router_server import RouterServer, Step

__all__ = ["Block", "page_blocks", "redirected_to", "run_page"]

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_NO_RUN = "<!-- no-run"
_CATALOG = "<!-- fake-catalog -->"
_SCRIPT = re.compile(r"^<!-- fake-router: (\S+) ((?:\S+ ?)+) -->$")
_HOSTS = {"router.huggingface.co": "", "huggingface.co": "", "localhost": "/local"}


@dataclass
class Block:
    """One fenced code block of a page.

    Attributes:
        line: Line number of the opening fence (1-based).
        lang: The fence's language (`python`, `text`, `bash`, ...).
        code: The block's text.
        run: False when marked `<!-- no-run -->`.
        expected: For a Python block, the text block that follows it, if any.
        scripts: `(provider, replies)` scripted on the fake router before it runs.
    """

    line: int
    lang: str
    code: str
    run: bool = True
    expected: str | None = None
    scripts: list[tuple[str, list[str]]] = field(default_factory=list)


def page_blocks(text: str) -> list[Block]:
    """Splits a Markdown page into its fenced blocks, output blocks attached."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    comments: list[str] = []
    gap_only = False  # only blank lines since the last block closed
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            stripped = lines[index].strip()
            if stripped.startswith("<!--"):
                comments.append(stripped)
            elif stripped:
                comments, gap_only = [], False
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        indent = len(match.group(1))
        code = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
        block = Block(
            index + 1, match.group(2), code, run=not any(c.startswith(_NO_RUN) for c in comments)
        )
        for comment in comments:
            if script := _SCRIPT.match(comment):
                block.scripts.append((script.group(1), script.group(2).split()))
        previous = blocks[-1] if blocks else None
        if block.lang == "text" and gap_only and previous and previous.lang == "python":
            previous.expected = code
        else:
            blocks.append(block)
        comments, gap_only = [], True
        index = end + 1
    return blocks


def _step(reply: str) -> Step:
    if reply == "reset":
        return Step.reset()
    if reply == "reset-mid-stream":
        return Step.reset_after(500)
    if reply == "slow":
        return Step.delay(2.0)
    return Step.error(int(reply))


@contextlib.contextmanager
def redirected_to(server: RouterServer) -> Iterator[None]:
    """Sends httpx requests for the real router, Hub and localhost:8080 to `server`."""
    sync_send = httpx.HTTPTransport.handle_request
    async_send = httpx.AsyncHTTPTransport.handle_async_request

    def moved(request: httpx.Request) -> None:
        prefix = _HOSTS.get(request.url.host)
        if prefix is not None and request.url.host != "127.0.0.1":
            url = request.url.copy_with(
                scheme="http", host="127.0.0.1", port=server.port, path=prefix + request.url.path
            )
            request.url = url

    def send(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        moved(request)
        return sync_send(self, request)

    async def asend(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        moved(request)
        return await async_send(self, request)

    httpx.HTTPTransport.handle_request = send  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = asend  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.HTTPTransport.handle_request = sync_send  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_send  # type: ignore[method-assign]


def _check(name: str, block: Block, printed: str) -> str | None:
    want = block.expected or ""
    got = "\n".join(line.rstrip() for line in printed.splitlines())
    want = "\n".join(line.rstrip() for line in want.splitlines())
    if doctest.OutputChecker().check_output(want + "\n", got + "\n", doctest.ELLIPSIS):
        return None
    return f"{name}:{block.line}: printed\n{got}\nbut the page shows\n{want}"


def run_page(path: Path, server: RouterServer) -> tuple[int, list[str]]:
    """Runs a page's Python blocks against `server`.

    Returns:
        The number of blocks run and one message per failing block (an
        exception, or printed output other than the page shows).
    """
    name = path.name
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    failures: list[str] = []
    ran = 0
    server.reset()
    PROCESS_STORE.clear()  # each page runs as in a fresh process
    forget_failures()
    text = path.read_text(encoding="utf-8")
    if _CATALOG in text:
        for repo, offers in EXAMPLE_OFFERS.items():
            for provider, fields in offers.items():
                server.set_offer(repo, provider, **fields)
    with redirected_to(server):
        for block in page_blocks(text):
            if block.lang not in ("python", "py") or not block.run:
                continue
            for provider, replies in block.scripts:
                server.script(provider, *(_step(reply) for reply in replies))
            out = io.StringIO()
            ran += 1
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(block.code, f"{path}:{block.line}", "exec"), namespace)
            except Exception:
                failures.append(f"{name}:{block.line}: raised\n{traceback.format_exc(limit=-3)}")
                continue
            if (problem := _check(name, block, out.getvalue())) is not None:
                failures.append(problem)
    return ran, failures
