"""`ProviderInfo`: who served an answer, as the seed's generator yields first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

__all__ = ["ProviderInfo"]


@dataclass(frozen=True)
class ProviderInfo:
    """The provider attribution of an answer.

    Attributes:
        model: The Hub repo id that served (or the `base_url` model name).
        provider: The inference provider slug, e.g. "together", when known.
        provider_model_id: The provider's own id for the model, when known.
        request_id: The router's request id, for support requests.
        attempts: The failed tries before success: provider, error, status.
    """

    model: str
    provider: str | None = None
    provider_model_id: str | None = None
    request_id: str | None = None
    attempts: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @classmethod
    def from_message(cls, message: BaseMessage) -> ProviderInfo:
        """Reads the attribution from a message's `response_metadata`.

        Args:
            message: An `AIMessage`, the first `AIMessageChunk` of a stream, or
                the sum of a stream's chunks.

        Returns:
            The attribution.

        Raises:
            ValueError: If the message carries no attribution.

        Example:
            >>> chunk = next(iter(llm.stream("hi")))  # doctest: +SKIP
            >>> ProviderInfo.from_message(chunk).provider  # doctest: +SKIP
            'together'
        """
        meta = message.response_metadata
        if "model_name" not in meta:
            msg = "message has no provider attribution (model_name missing)"
            raise ValueError(msg)
        return cls(
            model=meta["model_name"],
            provider=meta.get("provider"),
            provider_model_id=meta.get("provider_model_id"),
            request_id=meta.get("request_id"),
            attempts=tuple(meta.get("attempts", ())),
        )
