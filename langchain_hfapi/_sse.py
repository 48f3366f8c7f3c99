r"""An incremental, spec-correct Server-Sent Events decoder (no I/O).

Frames on bytes and splits lines only on CR, LF and CRLF (never on U+2028 or
other Unicode separators), so multi-byte UTF-8 characters split across reads
are safe. `data:` works with or without the space, comment lines (":...") and
unknown fields are ignored, several `data` lines join with "\n", and an event
still pending when the stream ends is dispatched (some servers omit the last
blank line). Only the data payload is returned: the chat stream needs no
`event`, `id` or `retry` fields.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

from langchain_hfapi.errors import ResponseTooLargeError

__all__ = ["SSEDecoder", "aiter_sse_data", "iter_sse_data"]


class SSEDecoder:
    r"""Turns byte chunks into the data payloads of complete events.

    Args:
        max_event_bytes: Most bytes of one line, or of one event's data lines
            together; `None` for no bound.

    Raises:
        ResponseTooLargeError: From `feed`, when a line or an event passes it
            (a server sending an endless line is stopped there).

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b'data: {"a"')
        []
        >>> decoder.feed(b": 1}\n\n")
        [b'{"a": 1}']
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_first_line",
        "_max",
        "_pending",
        "_pending_size",
        "_skip_lf",
    )

    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._pending: list[bytes] = []  # start of an unfinished line
        self._pending_size = 0
        self._data: list[bytes] = []  # data lines of the current event
        self._data_size = 0
        self._skip_lf = False  # the last chunk ended in CR: drop a leading LF
        self._first_line = True  # a UTF-8 BOM may precede the first line
        self._max = max_event_bytes  # most bytes of one line, or of one event's data

    def feed(self, chunk: bytes) -> list[bytes]:
        """Decodes a chunk of the body.

        Args:
            chunk: The next bytes read from the response.

        Returns:
            The data payloads of the events completed by this chunk.
        """
        if not chunk:
            return []
        lines = self._split_lines(chunk)
        if not lines:
            return []
        events: list[bytes] = []
        data = self._data
        limit = self._max
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
                    self._data_size = 0
            elif line.startswith(b"data:"):
                value = line[6:] if line.startswith(b"data: ") else line[5:]
                data.append(value)
                if limit is not None:
                    self._data_size += len(value)
                    if self._data_size > limit:
                        self._check(self._data_size)
            elif line == b"data":  # a field with no colon has an empty value
                data.append(b"")
        return events

    def _split_lines(self, chunk: bytes) -> list[bytes]:
        """Returns the lines this chunk completes; keeps the unfinished rest."""
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._pending.append(chunk)  # joined once the line ends: linear
                if self._max is not None:
                    self._pending_size += len(chunk)
                    self._check(self._pending_size)
            return []
        if self._pending:
            self._pending.append(chunk)
            chunk = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if tail:
            self._pending.append(tail)
            if self._max is not None:
                self._pending_size = len(tail)
                self._check(self._pending_size)
        if self._first_line:
            self._first_line = False
            lines[0] = lines[0].removeprefix(b"\xef\xbb\xbf")
        return lines

    def _check(self, size: int) -> None:
        if self._max is not None and size > self._max:
            msg = f"a stream line or event is larger than max_event_bytes={self._max} bytes"
            raise ResponseTooLargeError(msg, limit="max_event_bytes")

    def finish(self) -> list[bytes]:
        """Flushes the event still pending when the stream ended.

        Returns:
            Its data payload, if it had any.
        """
        events = self.feed(b"\n\n") if self._pending or self._data else []
        self._pending.clear()
        self._data.clear()
        self._pending_size = self._data_size = 0
        return events


def iter_sse_data(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yields the data payloads of the events in a byte stream.

    Args:
        chunks: The response body, e.g. `response.iter_bytes()`.

    Yields:
        Each event's data, as bytes.
    """
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.finish()


async def aiter_sse_data(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Async twin of `iter_sse_data`.

    Args:
        chunks: The response body, e.g. `response.aiter_bytes()`.

    Yields:
        Each event's data, as bytes.
    """
    decoder = SSEDecoder()
    async for chunk in chunks:
        for data in decoder.feed(chunk):
            yield data
    for data in decoder.finish():
        yield data
