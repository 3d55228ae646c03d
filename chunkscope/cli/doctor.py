"""``chunkscope doctor``: is the telemetry stack up, and if not, what fixes it?

    $ chunkscope doctor
    $ chunkscope doctor --prometheus-url http://127.0.0.1:19090 --skip loki,grafana

Prints one table row per check (collector health and OTLP ports, Prometheus readiness, rules
and targets, Jaeger's query API, Loki, Grafana and its provisioned dashboards), then one
``fix:`` line per failed check. Exit status 0 when every check passed, 1 otherwise.
Endpoints default to the ports deploy/docker-compose.yml publishes on localhost; environment
variables (see ``chunkscope.doctor.Endpoints.ENV``) and the flags below move them.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from chunkscope.doctor import DEFAULT_TIMEOUT, Endpoints, Result, build_checks, run_checks

_FLAGS = {
    "collector_health": "--collector-health-url",
    "otlp_grpc": "--otlp-grpc",
    "otlp_http": "--otlp-http",
    "prometheus": "--prometheus-url",
    "jaeger": "--jaeger-url",
    "loki": "--loki-url",
    "grafana": "--grafana-url",
    "grafana_user": "--grafana-user",
}
_COMPONENTS = ("collector", "otlp", "prometheus", "jaeger", "loki", "grafana")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError("must be between 0 and 60 seconds")
    return value


def _components(text: str) -> set[str]:
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    unknown = names - set(_COMPONENTS)
    if unknown:
        choices = ", ".join(_COMPONENTS)
        raise argparse.ArgumentTypeError(f"unknown: {', '.join(sorted(unknown))} (from {choices})")
    return names


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doctor`` to the ``chunkscope`` command line."""
    p = sub.add_parser(
        "doctor",
        help="check that the collector, Prometheus, Jaeger, Loki and Grafana are up",
        description="Check the observability stack and say how to fix what is down.",
    )
    for name, flag in _FLAGS.items():
        default = getattr(Endpoints, name)
        p.add_argument(
            flag,
            dest=name,
            metavar="URL" if name != "grafana_user" else "USER",
            help=f"default: ${Endpoints.ENV[name]} or {default}",
        )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per-check timeout ({DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--skip",
        type=_components,
        default=set(),
        metavar="NAMES",
        help=f"comma-separated components not to check ({', '.join(_COMPONENTS)})",
    )
    p.set_defaults(func=run)


def _component(check_name: str) -> str:
    first = check_name.split()[0].lower()
    return "collector" if first == "collector" else first


def render(results: list[Result], console: Console) -> None:
    table = Table(title="chunkscope doctor", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("url", overflow="fold")
    table.add_column("detail", overflow="fold")
    for r in results:
        status = "[green]ok[/green]" if r.ok else "[red]FAIL[/red]"
        table.add_row(r.check.name, status, r.check.url, r.detail)
    console.print(table)
    for r in results:
        if not r.ok:
            console.print(f"fix: {r.check.name}: {r.check.fix}", highlight=False, soft_wrap=True)


def run(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, name) for name in _FLAGS}
    endpoints = Endpoints.from_env(**overrides)
    checks = [c for c in build_checks(endpoints) if _component(c.name) not in args.skip]
    results = run_checks(checks, timeout=args.timeout)
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    render(results, console)
    return 0 if all(r.ok for r in results) else 1
