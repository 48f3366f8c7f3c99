"""HTTP/1.1 wire I/O for the fake router in tests (asyncio streams, stdlib only).

Reads one request off a connection (`read_request`) and writes a `Reply` shaped
by its `Step` (`send_reply`): delays, connection resets before the headers or
after some body bytes, one-byte trickling, chunked or Content-Length framing.
`tests.router_server` owns the connections and decides which reply to send.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

from tests import router_payloads as rp
from tests.router_script import RecordedRequest, Reply, reason_phrase


class BadRequestError(Exception):
    """The client sent bytes that are not an HTTP/1.1 request we can parse."""


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Parse a request head into method, target, version and lower-cased headers.

    Raises:
        ValueError: If the head is malformed.
    """
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in filter(None, lines[1:]):
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


async def read_request(
    reader: asyncio.StreamReader, conn: int
) -> tuple[RecordedRequest, bool] | None:
    """Read one request; None on a clean EOF between requests.

    Returns:
        The recorded request and whether the connection may be kept alive.

    Raises:
        BadRequestError: If the bytes are not a request we can parse.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequestError from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise BadRequestError from exc
    try:
        method, target, version, headers = parse_head(head)
        length = int(headers.get("content-length") or 0)
    except ValueError as exc:
        raise BadRequestError from exc
    if "transfer-encoding" in headers:
        raise BadRequestError  # requests are never chunked
    body = await reader.readexactly(length) if length else b""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:  # includes UnicodeDecodeError
        parsed = None
    token = headers.get("connection", "").lower()
    keep_alive = "close" not in token and (version == "HTTP/1.1" or "keep-alive" in token)
    split = urlsplit(target)
    query = parse_qs(split.query, keep_blank_values=True)
    record = RecordedRequest(method, split.path, query, headers, body, parsed, conn)
    record.route = rp.route_of(split.path)
    return record, keep_alive


async def abort(writer: asyncio.StreamWriter) -> None:
    """Let already written bytes reach the kernel, then abort the transport."""
    for _ in range(2000):
        if writer.transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.001)
    writer.transport.abort()


async def write_body(writer: asyncio.StreamWriter, data: bytes, chunked: bool) -> None:
    """Write body bytes (as one chunk if ``chunked``) and drain."""
    if data:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
        await writer.drain()


async def send_reply(writer: asyncio.StreamWriter, reply: Reply, keep_alive: bool) -> bool:
    """Write ``reply`` as shaped by its step; returns whether to keep going."""
    step = reply.step
    if step.first_byte_delay:
        await asyncio.sleep(step.first_byte_delay)
    if step.reset_before_headers:
        await abort(writer)
        return False
    chunked = reply.chunked
    pieces = reply.pieces if chunked else [b"".join(reply.pieces)]
    framing = "Transfer-Encoding" if chunked else "Content-Length"
    base = {
        "Content-Type": reply.content_type,
        framing: "chunked" if chunked else str(len(pieces[0])),
        "Connection": "keep-alive" if keep_alive else "close",
    }
    lines = [f"HTTP/1.1 {reply.status} {reason_phrase(reply.status)}"]
    lines += [f"{k}: {v}" for k, v in rp.merge_headers(base, reply.headers).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    budget = step.reset_after_bytes
    for index, piece in enumerate(pieces):
        if index and step.event_delay:
            await asyncio.sleep(step.event_delay)
        size = 1 if step.trickle else max(len(piece), 1)
        for start in range(0, len(piece), size):
            part = piece[start : start + size]
            if budget is not None and len(part) >= budget:
                await write_body(writer, part[:budget], chunked)
                await abort(writer)
                return False
            budget = None if budget is None else budget - len(part)
            await write_body(writer, part, chunked)
    if budget is not None:  # whole body sent, but never finish it cleanly
        await abort(writer)
        return False
    if chunked:
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    return keep_alive
