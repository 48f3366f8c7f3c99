"""Command line: `langchain-hfapi chat|models|mapping ...` (also `python -m langchain_hfapi`).

Answers go to standard output; attributions, warnings and errors go to standard
error. Failures print one `error: ...` line (no traceback) and exit with a status
that tells them apart (see `_cli_errors` and docs/cli.md).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from langchain_hfapi._aliases import DEFAULT_MODEL, resolve_alias, split_route
from langchain_hfapi._catalog import get_mapping, get_models
from langchain_hfapi._cli_catalog import HEADER, columns, load_catalog, sort_offers
from langchain_hfapi._cli_chat import AnswerCutError, Session, ask
from langchain_hfapi._cli_errors import (
    EXIT_BROKEN_PIPE,
    EXIT_FALLBACK,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Servers,
    UsageError,
    check_url,
    describe_failure,
)
from langchain_hfapi._client_core import DEFAULT_HUB_URL, DEFAULT_ROUTER_URL
from langchain_hfapi._preferences import SORTS, check_prefs
from langchain_hfapi._version import __version__
from langchain_hfapi.chat_models import ChatHuggingFaceAPI
from langchain_hfapi.errors import APIConnectionError, HuggingFaceAPIError

__all__ = ["main"]

PROG = "langchain-hfapi"
"""The program name of the console script (`python -m langchain_hfapi` passes its own)."""

_EXIT_CODES = """exit status:
  0    success
  1    the request failed: an HTTP error, every provider failed, an answer cut mid-stream
  2    usage or configuration: bad option, no token, invalid model name or URL
  3    no answer at all: the Hub, the router or the --base-url server is unreachable
  4    models: the router could not be listed; the built-in list was printed
  130  interrupted (Ctrl-C)
  141  standard output was closed early (e.g. | head)
"""

_ROUTER_HELP = "router base URL (default: %(default)s)"
_SORT_HELP = "order providers by output price, probe latency or probe throughput"
_HUB_HELP = f"Hub base URL, for provider mappings (default: $HF_ENDPOINT or {DEFAULT_HUB_URL})"


def _max_price(text: str) -> dict[str, float]:
    """Parses `--max-price`: "output=1,input=0.5" or one number (the output price)."""
    caps: dict[str, float] = {}
    try:
        if "=" not in text:
            caps["output"] = float(text)
        else:
            for part in text.split(","):
                key, _, value = part.partition("=")
                caps[key.strip()] = float(value)
        check_prefs(max_price=caps)
    except ValueError as err:
        msg = f"invalid --max-price {text!r}: {err}"
        raise argparse.ArgumentTypeError(msg) from None
    return caps


def _add_chat(sub: Any) -> None:
    chat = sub.add_parser(
        "chat",
        help="answer a question, or chat interactively",
        description="Answer QUESTION: the answer on stdout, the provider on stderr.\n"
        "Without QUESTION on a terminal, start an interactive session.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument(
        "question",
        nargs="?",
        metavar="QUESTION",
        help="the user message; - reads it from standard input "
        "(default: none, which starts an interactive session on a terminal)",
    )
    chat.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="MODEL",
        help="alias or Hub repo id, optionally with :provider or :policy (default: %(default)s)",
    )
    chat.add_argument(
        "--provider",
        metavar="PROVIDER",
        help="a provider slug, or fastest / cheapest / preferred (default: the Hub mapping order)",
    )
    chat.add_argument(
        "--stream", action="store_true", help="print tokens as they arrive (default: off)"
    )
    chat.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: text, provider, model, request_id, usage, attempts "
        "(default: off)",
    )
    chat.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help="max_tokens of the request (default: the model's)",
    )
    chat.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help="retries of one provider before the next one (default: 2)",
    )
    chat.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="seconds per request read (default: 120)"
    )
    chat.add_argument(
        "--sort",
        choices=SORTS,
        help="order providers by price, latency or throughput, as the catalog and the "
        "measured answers say (default: the Hub mapping order)",
    )
    chat.add_argument(
        "--max-price",
        type=_max_price,
        metavar="CAPS",
        help="skip providers over these USD per million tokens: 'output=1.0,input=0.5', "
        "or one number for output (default: no cap)",
    )
    chat.add_argument("--router-url", default=DEFAULT_ROUTER_URL, metavar="URL", help=_ROUTER_HELP)
    chat.add_argument("--hub-url", metavar="URL", help=_HUB_HELP)
    chat.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible server (TGI, vLLM, an Inference Endpoint); "
        "skips the Hub and the router (default: none)",
    )


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Chat with models served by Hugging Face Inference Providers.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_chat(sub)
    models = sub.add_parser(
        "models",
        help="list the chat models the router serves",
        description="List the chat models the router serves, one repo id per line. "
        "When the router cannot be listed, print the built-in list and exit with 4.",
    )
    models.add_argument(
        "--router-url", default=DEFAULT_ROUTER_URL, metavar="URL", help=_ROUTER_HELP
    )
    models.add_argument(
        "--details",
        action="store_true",
        help="one line per model and provider, with the catalog columns (default: off)",
    )
    models.add_argument(
        "--sort",
        choices=SORTS,
        help=f"implies --details; {_SORT_HELP} (default: the catalog's order)",
    )
    mapping = sub.add_parser(
        "mapping",
        help="show which providers serve a model",
        description="Show the Hub mapping of MODEL: provider, status, task, the router "
        "catalog's columns (price per 1M tokens, context, tools, structured output, "
        "probe latency and throughput) and the provider model id.",
    )
    mapping.add_argument("model", help="alias or Hub repo id (a :suffix is ignored)")
    mapping.add_argument("--hub-url", metavar="URL", help=_HUB_HELP)
    mapping.add_argument(
        "--router-url", default=DEFAULT_ROUTER_URL, metavar="URL", help=_ROUTER_HELP
    )
    mapping.add_argument("--sort", choices=SORTS, help=f"{_SORT_HELP} (default: the Hub's order)")
    return parser


def _servers(args: argparse.Namespace) -> Servers:
    hub_url = getattr(args, "hub_url", None)
    base_url = getattr(args, "base_url", None)
    for option, value in (
        ("--router-url", getattr(args, "router_url", None)),
        ("--hub-url", hub_url),
        ("--base-url", base_url),
    ):
        if value is not None:
            check_url(option, value)
    return Servers(
        router_url=getattr(args, "router_url", DEFAULT_ROUTER_URL),
        hub_url=hub_url or os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL,
        base_url=base_url,
    )


def _chat_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"model": args.model, "router_url": args.router_url}
    for name in ("provider", "hub_url", "base_url", "max_tokens", "max_retries", "timeout"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.sort is not None:
        options["provider_sort"] = args.sort
    if args.max_price is not None:
        options["max_price"] = args.max_price
    return options


def _chat(args: argparse.Namespace, servers: Servers, out: TextIO, err: TextIO) -> int:
    question = args.question
    if question is None:
        if args.json or not sys.stdin.isatty():
            msg = "no question given: pass one, or - to read it from standard input"
            raise UsageError(msg)
        return Session(_chat_options(args), servers, out, err).run()
    if question == "-":
        question = sys.stdin.read().strip()
        if not question:
            msg = "standard input is empty: no question to ask"
            raise UsageError(msg)
    llm = ChatHuggingFaceAPI(**_chat_options(args))
    ask(llm, question, stream=args.stream, as_json=args.json, out=out, err=err)
    return EXIT_OK


class _Collect(logging.Handler):
    """Keeps the log records it gets instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keeps one record.

        Args:
            record: The record.
        """
        self.records.append(record)


@contextlib.contextmanager
def _catalog_warnings() -> Iterator[list[logging.LogRecord]]:
    """Collects the package's warnings (the `models` fallback) instead of printing them."""
    handler = _Collect()
    logger = logging.getLogger("langchain_hfapi")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def _run(args: argparse.Namespace, servers: Servers, out: TextIO, err: TextIO) -> int:
    if args.command == "chat":
        with _catalog_warnings() as warnings:
            code = _chat(args, servers, out, err)
        for record in warnings:  # after a failure, the error says what went wrong instead
            err.write(f"warning: {record.getMessage()}\n")
        return code
    if args.command == "models" and (args.details or args.sort):
        return _models_details(args, out, err)
    if args.command == "models":
        with _catalog_warnings() as warnings:
            models = get_models(router_url=args.router_url)
        out.writelines(model + "\n" for model in models)
        for record in warnings:
            err.write(f"warning: {record.getMessage()} (exit status {EXIT_FALLBACK})\n")
        return EXIT_FALLBACK if warnings else EXIT_OK
    entries = get_mapping(args.model, hub_url=args.hub_url)
    with _catalog_warnings() as warnings:
        catalog = load_catalog(args.router_url)
    for record in warnings:
        err.write(f"warning: {record.getMessage()}\n")
    repo = resolve_alias(split_route(args.model)[0])
    offers = catalog.model(repo) if catalog is not None else None
    out.write(f"{'provider':<16} {'status':<8} {'task':<16} {HEADER} provider_model_id\n")
    for entry in sort_offers(entries, lambda e: offers and offers.offer(e["provider"]), args.sort):
        offer = offers.offer(entry["provider"]) if offers is not None else None
        out.write(
            f"{entry['provider']:<16} {entry['status']:<8} {entry['task']:<16} "
            f"{columns(offer)} {entry['provider_id'] or ''}\n"
        )
    return EXIT_OK


def _models_details(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _catalog_warnings() as warnings:
        catalog = load_catalog(args.router_url)
    if catalog is None:
        for record in warnings:
            err.write(f"warning: {record.getMessage()}\n")
        raise APIConnectionError("the router's catalog could not be read")
    out.write(f"{'model':<48} {'provider':<16} {HEADER}\n")
    for repo, offers in catalog.models.items():
        rows = sort_offers(offers.providers.values(), lambda o: o, args.sort)
        out.writelines(f"{repo:<48} {o.provider:<16} {columns(o)}\n" for o in rows)
    return EXIT_OK


def _stdout_gone() -> int:
    """Points standard output at /dev/null so that the exit flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    *,
    prog: str = PROG,
) -> int:
    """Runs the command line.

    Args:
        argv: Arguments without the program name; defaults to `sys.argv[1:]`.
        out: Where answers go; defaults to standard output.
        err: Where attributions, warnings and errors go; defaults to standard error.
        prog: The program name shown in usage and `--version`.

    Returns:
        The exit status: 0 success, 1 failed request, 2 usage or configuration,
        3 unreachable server, 4 `models` fell back to the built-in list,
        130 interrupted, 141 standard output closed early.

    Example:
        >>> main(["chat", "hi", "--stream"])  # doctest: +SKIP
        Hello! How can I help you today?
        0
    """
    args = _parser(prog).parse_args(argv)
    out = out or sys.stdout
    err = err or sys.stderr
    servers = Servers()
    try:
        servers = _servers(args)
        return _run(args, servers, out, err)
    except BrokenPipeError:
        return _stdout_gone()
    except AnswerCutError as exc:
        code, message = describe_failure(exc.error, servers, cut_provider=exc.provider)
    except (HuggingFaceAPIError, ValueError) as exc:
        code, message = describe_failure(exc, servers)
    except KeyboardInterrupt:
        out.write("\n")
        err.write("interrupted\n")
        return EXIT_INTERRUPTED
    err.write(f"error: {message}\n")
    return code
