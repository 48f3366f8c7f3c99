"""The router catalog's columns for `models --details` and `mapping` (command line).

Each provider row shows its price (USD per million input and output tokens),
context length, tool and structured-output support, and the router's probe
of latency (time to first token, ms) and throughput (tokens/s); "-" is
unknown. `--sort price|latency|throughput` orders the rows by output price,
latency or throughput (unknown last), as `provider_sort` does without
measurements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from langchain_hfapi._catalog import _settings
from langchain_hfapi._catalog_access import catalog_url
from langchain_hfapi._client import HFClient
from langchain_hfapi._offers import ProviderOffer, RouterCatalog, parse_catalog
from langchain_hfapi.errors import HuggingFaceAPIError

__all__ = ["HEADER", "columns", "load_catalog", "sort_offers"]

logger = logging.getLogger("langchain_hfapi")

HEADER = (
    f"{'in/1M':>7} {'out/1M':>7} {'context':>8} {'tools':<5} {'json':<5} "
    f"{'ttft_ms':>7} {'tok/s':>7}"
)


def load_catalog(router_url: str) -> RouterCatalog | None:
    """Fetches the router's catalog for the command line (None, with a warning, on failure).

    Args:
        router_url: The router's base URL.

    Returns:
        The catalog, or None when it cannot be read.
    """
    with HFClient(_settings(None, router_url, None)) as client:
        try:
            return parse_catalog(client.get_json(catalog_url(router_url)))
        except (HuggingFaceAPIError, ValueError) as err:
            logger.warning("could not read the router's catalog (%s); catalog columns are '-'", err)
            return None


def _num(value: float | None, fmt: str, width: int) -> str:
    return f"{'-' if value is None else format(value, fmt):>{width}}"


def _flag(value: bool | None) -> str:
    return f"{'-' if value is None else 'yes' if value else 'no':<5}"


def columns(offer: ProviderOffer | None) -> str:
    """Formats a provider's catalog columns (see `HEADER`).

    Args:
        offer: The provider's catalog entry, or None when unknown.

    Returns:
        Fixed-width columns.

    Example:
        >>> columns(ProviderOffer("x", input_price=0.13, output_price=0.39, throughput=24.69))
        '   0.13    0.39        - -     -           -    24.7'
    """
    o = offer or ProviderOffer("")
    return " ".join(
        [
            _num(o.input_price, "g", 7),
            _num(o.output_price, "g", 7),
            _num(o.context_length, "d", 8),
            _flag(o.supports_tools),
            _flag(o.supports_structured_output),
            _num(o.first_token_latency_ms, ".0f", 7),
            _num(o.throughput, ".1f", 7),
        ]
    )


def _key(offer: ProviderOffer | None, sort: str) -> tuple[float, ...]:
    if offer is not None and sort == "price" and offer.output_price is not None:
        return (0.0, offer.output_price, offer.input_price or 0.0)
    if offer is not None and sort == "latency" and offer.first_token_latency_ms is not None:
        return (0.0, offer.first_token_latency_ms)
    if offer is not None and sort == "throughput" and offer.throughput is not None:
        return (0.0, -offer.throughput)
    return (1.0,)


def sort_offers(rows: Iterable[Any], offer_of: Any, sort: str | None) -> list[Any]:
    """Orders rows by their provider's catalog figure (stable; unknown last).

    Args:
        rows: Anything, one per provider.
        offer_of: Gives a row's `ProviderOffer` (or None).
        sort: "price", "latency", "throughput", or None (order kept).

    Returns:
        The rows in order.
    """
    kept = list(rows)
    if sort is None:
        return kept
    return sorted(kept, key=lambda row: _key(offer_of(row), sort))
