"""The ``chunkscope`` command line: one module per subcommand, registered in ``SUBCOMMANDS``.

Each subcommand module exposes ``register(subparsers) -> None`` that adds its parser and sets
``func`` (taking the parsed namespace, returning the exit code). Modules are imported lazily
by name so ``chunkscope chunk`` never pays for the service, the doctor or grafanalib.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: dict[str, str] = {
    "chunk": "chunkscope.cli.chunk",
    "doctor": "chunkscope.cli.doctor",
    "serve": "chunkscope.cli.serve",
    "loadtest": "chunkscope.cli.loadtest",
    "bench": "chunkscope.cli.bench",
    "dashboards": "chunkscope.cli.dashboards",
    "cache": "chunkscope.cli.cache",
}
"""Subcommand name -> module implementing it."""


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="chunkscope", description="Fast, observable tree-sitter code chunker.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    wanted = None
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args if not a.startswith("-")), None)
    if first in SUBCOMMANDS:
        wanted = first
    for name, module in SUBCOMMANDS.items():
        if wanted is None or name == wanted:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("chunkscope: interrupted", file=sys.stderr)
        return 130
