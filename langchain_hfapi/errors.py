"""Exceptions raised by `langchain_hfapi`.

Every class also subclasses the matching `langchain_core.exceptions` class, so
code that catches LangChain's provider-neutral errors keeps working. The tree
(bracketed: the `langchain_core.exceptions` base):

```
* HuggingFaceAPIError                  [ModelError]
  x MissingAuthError                   no token found          [ModelAuthenticationError]
  x AuthenticationError          401   token rejected          [ModelAuthenticationError]
  x PermissionDeniedError        403   gated / no permission   [ModelPermissionDeniedError]
  x PaymentRequiredError         402   credits exhausted
  x ModelNotSupportedError       404   no provider serves it   [ModelNotFoundError]
  x InvalidRequestError          400, 422                      [ModelInvalidRequestError]
    + InputTooLongError                input over the context  [ContextOverflowError]
  x RateLimitError               429   `retry_after`           [ModelRateLimitError]
  x ProviderError                5xx   also in-stream errors   [ModelAPIError]
    + MalformedResponseError           unreadable answer
      + ResponseTooLargeError          over a size bound; `limit` names it
  x APIConnectionError                 no answer at all        [ModelConnectionError]
    + APITimeoutError                  timed out               [ModelTimeoutError]
  x AllProvidersFailedError            every candidate failed; `errors` holds each
```

Each error carries `status_code`, `provider`, `model`, `request_id` and
`retry_after` (any of them may be `None`) and names the first four in its message.
Message, body, `args` and `str()` never hold a token, URL user info or an
`Authorization` value: they are replaced with `***` when the error is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from langchain_hfapi._redact import redact

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AllProvidersFailedError",
    "AuthenticationError",
    "HuggingFaceAPIError",
    "InputTooLongError",
    "InvalidRequestError",
    "MalformedResponseError",
    "MissingAuthError",
    "ModelNotSupportedError",
    "NoProviderMatchesError",
    "ParameterNotSupportedError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "ResponseTooLargeError",
]


class HuggingFaceAPIError(ModelError):
    """Base class of every error this package raises about a model call.

    Attributes:
        message: What went wrong, as reported by the server or detected locally.
        status_code: The HTTP status, when there was a response.
        provider: The inference provider slug (or routing policy) that was tried.
        model: The Hub repo id (or `base_url` model name) that was requested.
        request_id: The router's `x-request-id`, for support requests.
        body: A short excerpt of the response body, when there was one.
        retry_after: Seconds the server asked to wait (`Retry-After`), if any.
        partial_message: When a stream broke after its first token, the
            answer delivered until then (text, reasoning, tool calls parsed
            strictly: a call cut inside its arguments is invalid), so nothing
            the user was sent is lost. `None` otherwise.
    """

    partial_message: AIMessage | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.provider = provider
        self.model = model
        self.request_id = redact(request_id) if request_id is not None else None
        self.body = redact(body) if body is not None else None
        self.retry_after = retry_after

    def with_context(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
    ) -> HuggingFaceAPIError:
        """Fills in the call context that the raising code did not know.

        Args:
            provider: Provider slug or policy of the attempt.
            model: Model that was requested.
            request_id: The response's request id.

        Returns:
            The same error, for `raise err.with_context(...) from ...`.
        """
        self.provider = self.provider or provider
        self.model = self.model or model
        self.request_id = self.request_id or (redact(request_id) if request_id else request_id)
        return self

    def __str__(self) -> str:
        where = [
            f"{name}={value}"
            for name, value in (
                ("provider", self.provider),
                ("model", self.model),
                ("status", self.status_code),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        text = f"{self.message} ({', '.join(where)})" if where else self.message
        return redact(text)


class MissingAuthError(HuggingFaceAPIError, ModelAuthenticationError):
    """Raised before any request when no Hugging Face token can be found."""


class AuthenticationError(HuggingFaceAPIError, ModelAuthenticationError):
    """Raised on HTTP 401: the token is missing, malformed or revoked."""


class PermissionDeniedError(HuggingFaceAPIError, ModelPermissionDeniedError):
    """Raised on HTTP 403: a gated model, or a token without the permission."""


class PaymentRequiredError(HuggingFaceAPIError):
    """Raised on HTTP 402: the account's Inference Providers credits are used up."""


class ModelNotSupportedError(HuggingFaceAPIError, ModelNotFoundError):
    """Raised when no usable provider serves the model, or a provider refuses it."""


class InvalidRequestError(HuggingFaceAPIError, ModelInvalidRequestError):
    """Raised on HTTP 400/422: the server rejected the request as invalid."""


class InputTooLongError(InvalidRequestError, ContextOverflowError):
    """Raised when the server says the input exceeds the model's context."""


class ParameterNotSupportedError(InvalidRequestError):
    """Raised on a 400/422 saying a request parameter is not supported.

    Another provider may accept the parameter, so the next one is tried.
    """


class NoProviderMatchesError(ModelNotSupportedError):
    """Raised before any request when no provider fits the request or the preferences.

    The router's catalog says no provider supports what the request needs
    (tools, structured output, its length), or `max_price` / `ignore_providers`
    exclude every provider. The message names the cap or the reasons.
    """


class RateLimitError(HuggingFaceAPIError, ModelRateLimitError):
    """Raised on HTTP 429; `retry_after` holds the server's `Retry-After`."""


class ProviderError(HuggingFaceAPIError, ModelAPIError):
    """Raised on HTTP 5xx, or on an error event inside a 200 stream."""


class MalformedResponseError(ProviderError):
    """Raised when an answer cannot be read: not JSON, HTML, no `choices`."""


class ResponseTooLargeError(MalformedResponseError):
    """Raised when an answer passes a size bound (`max_response_bytes`, ...).

    The connection is closed, and before the first token the next provider is
    tried, as for any provider fault.

    Attributes:
        limit: The name of the setting that bounds it.
    """

    def __init__(self, message: str, *, limit: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class APIConnectionError(HuggingFaceAPIError, ModelConnectionError):
    """Raised when the server could not be reached or dropped the connection."""


class APITimeoutError(APIConnectionError, ModelTimeoutError):
    """Raised when a request, or the wait for the first token, timed out."""


_LISTED_ERRORS = 10  # providers named in the message (all are in `errors`)


class AllProvidersFailedError(HuggingFaceAPIError):
    """Raised when every candidate provider failed.

    Attributes:
        errors: The last error of each provider, in the order they were tried.
    """

    def __init__(self, errors: list[HuggingFaceAPIError], *, model: str) -> None:
        lines = "; ".join(
            f"{err.provider}: {type(err).__name__}"
            + (f" {err.status_code}" if err.status_code is not None else "")
            + f" {err.message}"
            + (f" [request_id={err.request_id}]" if err.request_id else "")
            for err in errors[:_LISTED_ERRORS]
        )
        if len(errors) > _LISTED_ERRORS:
            lines += f"; and {len(errors) - _LISTED_ERRORS} more"
        super().__init__(f"All providers failed: {lines}", model=model)
        self.errors = errors
        self.is_retryable = any(err.is_retryable for err in errors)
