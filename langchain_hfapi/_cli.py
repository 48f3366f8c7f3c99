"""Command line: `python -m langchain_hfapi chat|models|mapping ...`.

Prints answers with the provider that served them; failures print one line
(no traceback) and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from pydantic import ValidationError

from langchain_hfapi._aliases import DEFAULT_MODEL
from langchain_hfapi._catalog import get_mapping, get_models
from langchain_hfapi._client_core import DEFAULT_ROUTER_URL
from langchain_hfapi._provider_info import ProviderInfo
from langchain_hfapi.chat_models import ChatHuggingFaceAPI
from langchain_hfapi.errors import (
    APIConnectionError,
    HuggingFaceAPIError,
    MissingAuthError,
)

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_hfapi",
        description="Chat with models served by Hugging Face Inference Providers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="ask a question and print the answer")
    chat.add_argument("question")
    chat.add_argument("--model", default=DEFAULT_MODEL, help="alias or Hub repo id")
    chat.add_argument("--provider", help="provider slug, 'fastest', 'cheapest', ...")
    chat.add_argument("--stream", action="store_true", help="print tokens as they come")
    chat.add_argument("--max-tokens", type=int, default=None)
    chat.add_argument("--router-url", default=DEFAULT_ROUTER_URL)
    chat.add_argument("--hub-url", default=None)
    chat.add_argument("--base-url", default=None, help="an OpenAI-compatible server")
    models = sub.add_parser("models", help="list the chat models the router serves")
    models.add_argument("--router-url", default=DEFAULT_ROUTER_URL)
    mapping = sub.add_parser("mapping", help="show which providers serve a model")
    mapping.add_argument("model")
    mapping.add_argument("--hub-url", default=None)
    return parser


def _describe(info: ProviderInfo) -> str:
    parts = [f"provider: {info.provider or 'unknown'}", f"model: {info.model}"]
    if info.request_id:
        parts.append(f"request id: {info.request_id}")
    if info.attempts:
        failed = ", ".join(f"{a['provider']} ({a['error']})" for a in info.attempts)
        parts.append(f"failed over from: {failed}")
    return "[" + " | ".join(parts) + "]"


def _chat(args: argparse.Namespace, out: TextIO) -> None:
    options: dict[str, Any] = {"model": args.model, "router_url": args.router_url}
    for name in ("provider", "hub_url", "base_url", "max_tokens"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    llm = ChatHuggingFaceAPI(**options)
    if not args.stream:
        message = llm.invoke(args.question)
        out.write(_describe(ProviderInfo.from_message(message)) + "\n")
        out.write(message.text + "\n")
        return
    for chunk in llm.stream(args.question):
        if "model_name" in chunk.response_metadata:
            out.write(_describe(ProviderInfo.from_message(chunk)) + "\n")
        out.write(chunk.text)
        out.flush()
    out.write("\n")


def _run(args: argparse.Namespace, out: TextIO) -> None:
    if args.command == "chat":
        _chat(args, out)
    elif args.command == "models":
        for model in get_models(router_url=args.router_url):
            out.write(model + "\n")
    else:
        for entry in get_mapping(args.model, hub_url=args.hub_url):
            out.write(
                f"{entry['provider']:<16} {entry['status']:<8} {entry['task']:<16} "
                f"{entry['provider_id'] or ''}\n"
            )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Runs the command line.

    Args:
        argv: Arguments without the program name; defaults to `sys.argv[1:]`.
        out: Where answers go; defaults to standard output.

    Returns:
        The exit status: 0 on success, 1 on a failed call, 2 on missing setup.

    Example:
        >>> main(["chat", "hi", "--stream"])  # doctest: +SKIP
        [provider: together | model: meta-llama/Llama-3.3-70B-Instruct]
        Hello! How can I help you today?
        0
    """
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        _run(args, out)
    except MissingAuthError as err:
        sys.stderr.write(f"error: {err.message}\n")
        return 2
    except APIConnectionError as err:
        sys.stderr.write(
            f"error: cannot reach Hugging Face (check the internet connection): {err}\n"
        )
        return 1
    except ValidationError as err:
        problem = err.errors()[0]
        sys.stderr.write(f"error: {str(problem['msg']).removeprefix('Value error, ')}\n")
        return 1
    except (HuggingFaceAPIError, ValueError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return 0
