"""Measures, in a fresh process, how much one call against an attack grows peak RSS.

Usage: ``python -m tests.rss_probe URL ATTACK MODE`` prints one JSON line:
the error raised (if any), the peak RSS before and after the call (KiB) and
the seconds it took. Used by `tests/unit_tests/test_body_limits.py`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from langchain_hfapi import ChatHuggingFaceAPI


def _call(llm: ChatHuggingFaceAPI, mode: str) -> Any:
    if mode == "invoke":
        return llm.invoke("hi")
    if mode == "stream":
        return list(llm.stream("hi"))

    async def run() -> Any:
        if mode == "ainvoke":
            return await llm.ainvoke("hi")
        return [c async for c in llm.astream("hi")]

    return asyncio.run(run())


def main() -> None:
    """Runs one call and prints the figures."""
    url, attack, mode = sys.argv[1:4]
    llm = ChatHuggingFaceAPI(model="m", base_url=f"{url}/{attack}", max_retries=0, timeout=30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    error = None
    try:
        _call(llm, mode)
    except Exception as err:  # the figures say what was raised
        error = type(err).__name__
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {"error": error, "before_kib": before, "after_kib": after}
    print(json.dumps({**figures, "seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()
