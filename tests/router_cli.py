"""Command line of the fake router: ``python -m tests.router_server [options]``.

Runs a `tests.router_server.RouterServer` in the foreground until Ctrl-C, e.g.
``python -m tests.router_server --port 8765 --fail together:0.3:reset:120``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from tests.router_server import RouterServer, Step

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Run the fake router in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Fake Hugging Face router + Hub.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--require-token", default=None)
    parser.add_argument("--mapping-shape", choices=["dict", "list"], default="dict")
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="PROVIDER:RATE[:STATUS|reset[:N]]",
        help="fail that share of a provider's requests: an HTTP status, or a connection "
        "reset after N bytes of the answer (default 600: a few tokens in)",
    )
    parser.add_argument("--answer", default=None, help="answer text ({provider} is replaced)")
    args = parser.parse_args(argv)
    server = RouterServer(require_token=args.require_token, mapping_shape=args.mapping_shape)
    if args.answer:
        providers = {p for entries in server.models.values() for p, *_ in entries}
        server.answers = {p: args.answer.replace("{provider}", p) for p in providers | {"custom"}}
    for spec in args.fail:
        provider, rate, *how = spec.split(":")
        mode = how[0] if how else "503"
        cut = int(how[1]) if len(how) > 1 else 600
        step = Step.reset_after(cut) if mode == "reset" else None
        server.set_failure_rate(
            provider, float(rate), status=int(mode) if step is None else 503, step=step
        )

    def ready() -> None:
        print(f"fake router listening on http://{args.host}:{server.port}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(args.host, args.port, on_ready=ready))


if __name__ == "__main__":
    main()
