"""Removes secrets from every message the package writes (errors, warnings, logs).

One place decides what a secret looks like: the tokens this process was
configured with (`remember_secret`), anything shaped like a Hugging Face token,
the user-info part of URLs, and `Authorization` / `Bearer` values. Errors redact
themselves when built (`errors.HuggingFaceAPIError`), the package's logger
redacts each record, and warnings go through `warn`.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings

__all__ = ["MASK", "redact", "remember_secret", "scrub_exception", "warn"]

MASK = "***"
MIN_SECRET_CHARS = 8  # shorter configured tokens are not searched for (too many false hits)
MAX_SECRETS = 64  # configured tokens remembered, newest first (a server may hold one per user)

_HF_TOKEN = re.compile(r"(?<![A-Za-z0-9])(hf_|api_org_)[A-Za-z0-9]{20,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
_VALUE = r"[^\s\"'`,;)}\]]"
# "Authorization: <value>", "'authorization': '<value>'", "Authorization=<value>"
_AUTHORIZATION = re.compile(
    rf"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)((?:bearer|basic|token)\s+)?(?!\*\*\*){_VALUE}+"
)
_BEARER = re.compile(rf"(?i)\b(bearer\s+)(?!\*\*\*){_VALUE}{{8,}}")  # not "Bearer realm="

_secrets: tuple[str, ...] = ()  # longest first; replaced whole, so reads need no lock
_recent: dict[str, None] = {}  # insertion-ordered, oldest first
_lock = threading.Lock()


def remember_secret(secret: str) -> None:
    """Adds a configured token to the values removed from every message.

    Only the `MAX_SECRETS` most recent tokens are kept; older ones are still
    removed when they are shaped like a Hugging Face token.

    Args:
        secret: The token, already stripped. Values shorter than
            `MIN_SECRET_CHARS` are ignored.
    """
    global _secrets
    if len(secret) < MIN_SECRET_CHARS:
        return
    with _lock:
        if _recent and next(reversed(_recent)) == secret:
            return  # already the newest: the common case, one model after another
        _recent.pop(secret, None)
        _recent[secret] = None
        while len(_recent) > MAX_SECRETS:
            del _recent[next(iter(_recent))]
        _secrets = tuple(sorted(_recent, key=len, reverse=True))


def redact(text: str) -> str:
    """Replaces every secret in `text` with `***`.

    Args:
        text: A message, response excerpt or log line.

    Returns:
        The text without configured tokens, Hugging Face tokens, URL user
        info, or `Authorization` / `Bearer` values.

    Example:
        >>> redact("GET https://me:pw@host/x with Bearer abc.def.ghi")
        'GET https://***@host/x with Bearer ***'
    """
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _HF_TOKEN.sub(rf"\1{MASK}", text)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    text = _AUTHORIZATION.sub(rf"\1\2{MASK}", text)
    return _BEARER.sub(rf"\1{MASK}", text)


def _redact_arg(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (bytes, bytearray)):
        return redact(bytes(value).decode("latin-1")).encode("latin-1")
    return value


def scrub_exception(error: BaseException) -> None:
    """Redacts the arguments of an exception and of everything it chains to.

    Used on third-party exceptions (httpx, h11) before they become the
    `__cause__` of a package error, since their text may quote a header or URL.

    Args:
        error: The exception; changed in place, with its `__cause__` and
            `__context__` chain.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        exc.args = tuple(_redact_arg(arg) for arg in exc.args)
        if isinstance(exc, (UnicodeEncodeError, UnicodeDecodeError)):
            exc.object = _redact_arg(exc.object)  # type: ignore[assignment]
        pending += [exc.__cause__, exc.__context__]


def warn(message: str, category: type[Warning] = UserWarning, stacklevel: int = 2) -> None:
    """Issues a warning with secrets removed from its message.

    Args:
        message: The warning text.
        category: The warning class.
        stacklevel: As for `warnings.warn`, counted from the caller of `warn`.
    """
    warnings.warn(redact(message), category, stacklevel=stacklevel + 1)


class _RedactingFilter(logging.Filter):
    """Formats each record of the package's logger and removes its secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        return True


logging.getLogger("langchain_hfapi").addFilter(_RedactingFilter())
