"""Bounded reading of response bodies: decompression and size limits (no I/O).

The drivers read raw bytes (`iter_raw`) and hand them to a `BodyCollector`
(whole answers, error bodies, Hub answers) or to the `EventReader` of a stream,
which decode them here. Sizes are counted after decompression, in pieces of
at most 64 KiB, so a gzip bomb never expands in memory past its limit.

| setting | default | what it bounds |
|---|---|---|
| `max_response_bytes` | 16 MiB | a whole answer, a Hub or catalog answer |
| `max_error_bytes` | 64 KiB | the part of an error body that is read (the rest is not) |
| `max_event_bytes` | 4 MiB | one SSE line, one event's data |
| `max_stream_bytes` | none | a whole stream |
| `max_events_before_token` | 10,000 | events without content before the first token |

Past a bound (but `max_error_bytes`), `ResponseTooLargeError` is raised and the
connection closed; before the first token the next provider is tried.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_hfapi.errors import MalformedResponseError, ResponseTooLargeError

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_LIMITS",
    "BodyCollector",
    "BodyDecoder",
    "BodyLimits",
]

ACCEPT_ENCODING = "gzip, deflate"  # what BodyDecoder can decode, sent on every request
PIECE = 64 * 1024  # most bytes one decompression step produces
MiB = 1024 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """Bounds on what is read from a server (see the module's table).

    Attributes:
        response: Most bytes of a whole answer (chat, Hub, catalog).
        error: Most bytes of an error body that are read.
        event: Most bytes of one SSE line or event.
        stream: Most bytes of a whole stream, or `None` for no bound.
        events_before_token: Most events without content before the first token.
    """

    response: int = 16 * MiB
    error: int = 64 * 1024
    event: int = 4 * MiB
    stream: int | None = None
    events_before_token: int = 10_000


DEFAULT_LIMITS = BodyLimits()


class BodyDecoder:
    """Decodes a body's raw bytes in bounded pieces and counts the decoded size.

    Args:
        content_encoding: The response's `Content-Encoding` ("" for none).
        limit: Most decoded bytes accepted, or `None`.
        setting: The setting named when `limit` is passed.

    Raises:
        MalformedResponseError: For an encoding other than gzip or deflate.

    Example:
        >>> decoder = BodyDecoder("gzip", limit=10, setting="max_response_bytes")
        >>> import gzip
        >>> list(decoder.feed(gzip.compress(b"hello")))
        [b'hello']
    """

    __slots__ = ("_decompressor", "_first", "limit", "setting", "size")

    def __init__(self, content_encoding: str, limit: int | None, setting: str) -> None:
        encoding = content_encoding.strip().lower()
        self._decompressor: zlib._Decompress | None = None
        self._first = encoding == "deflate"  # zlib-wrapped or raw deflate: seen on the first bytes
        if encoding == "gzip":
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding not in ("", "identity", "deflate"):
            msg = f"unsupported content-encoding {encoding!r} (gzip and deflate were offered)"
            raise MalformedResponseError(msg)
        self.limit = limit
        self.setting = setting
        self.size = 0

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """Decodes the next raw bytes, one piece at a time.

        Pieces are produced as they are consumed, so a consumer that stops (a
        bound of its own, such as `max_event_bytes`) stops the decompression.

        Args:
            raw: Bytes as read from the connection.

        Yields:
            Decoded pieces of at most 64 KiB each.

        Raises:
            ResponseTooLargeError: When the decoded size passes the limit.
            MalformedResponseError: When the compressed data is corrupt.
        """
        if self._first and raw:
            self._first = False
            wbits = zlib.MAX_WBITS if raw[0] & 0x0F == 8 and raw[0] >> 4 <= 7 else -zlib.MAX_WBITS
            self._decompressor = zlib.decompressobj(wbits)
        if self._decompressor is None:
            self._count(len(raw))
            if raw:
                yield raw
            return
        data = raw
        while data:
            try:
                piece = self._decompressor.decompress(data, PIECE)
            except zlib.error as err:
                raise MalformedResponseError(f"compressed body is corrupt: {err}") from None
            data = self._decompressor.unconsumed_tail
            self._count(len(piece))
            if piece:
                yield piece

    def _count(self, size: int) -> None:
        self.size += size
        if self.limit is not None and self.size > self.limit:
            msg = f"the answer is larger than {self.setting}={self.limit} bytes"
            raise ResponseTooLargeError(msg, limit=self.setting)


class BodyCollector:
    """Collects a whole body within a limit (the I/O-free half of a bounded read).

    Args:
        content_encoding: The response's `Content-Encoding`.
        limit: Most decoded bytes.
        setting: The setting named when the limit is passed.
        truncate: Keep the first `limit` bytes and stop reading, instead of
            raising (for error bodies, of which only an excerpt is kept).
    """

    __slots__ = ("_body", "_decoder", "_limit", "_truncate")

    def __init__(
        self, content_encoding: str, limit: int, setting: str, *, truncate: bool = False
    ) -> None:
        self._decoder = BodyDecoder(content_encoding, None if truncate else limit, setting)
        self._body = bytearray()
        self._limit = limit
        self._truncate = truncate

    def feed(self, raw: bytes) -> bool:
        """Adds raw bytes; returns True when enough was read (truncating).

        Raises:
            ResponseTooLargeError: When not truncating and the limit is passed.
        """
        for piece in self._decoder.feed(raw):
            self._body += piece
        return self._truncate and len(self._body) >= self._limit

    def body(self) -> bytes:
        """Returns the body read (cut at the limit when truncating)."""
        return bytes(self._body[: self._limit]) if self._truncate else bytes(self._body)
