"""``chunkscope doctor``: is the telemetry stack up, and does a signal make it through?

    $ chunkscope doctor
    $ chunkscope doctor --prometheus-url http://127.0.0.1:19090 --skip loki,grafana
    $ chunkscope doctor --probe [--format json] [--deadline 60] [--logs-api victorialogs]

Without ``--probe``: one table row per check (collector health and OTLP ports, Prometheus
readiness, rules and targets, Jaeger's query API, Loki, Alertmanager, Grafana and its
provisioned dashboards), then one ``fix:`` line per failed check.

With ``--probe``: sends a tagged span, metric point and log record through the collector and
prints each hop (collector, Jaeger, Prometheus, log store, Alertmanager) with its latency, then
the fix for the first broken hop (see ``chunkscope.probe``).

Exit status 0 when everything passed, 1 otherwise. Endpoints default to the ports
deploy/docker-compose.yml publishes on localhost; environment variables (see
``chunkscope.doctor.Endpoints.ENV``) and the flags below move them.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from chunkscope.doctor import DEFAULT_TIMEOUT, Endpoints, Result, build_checks, run_checks
from chunkscope.probe import DEFAULT_DEADLINE, LOGS_APIS, ProbeReport, run_probe

_FLAGS = {
    "collector_health": "--collector-health-url",
    "otlp_grpc": "--otlp-grpc",
    "otlp_http": "--otlp-http",
    "prometheus": "--prometheus-url",
    "jaeger": "--jaeger-url",
    "loki": "--loki-url",
    "alertmanager": "--alertmanager-url",
    "grafana": "--grafana-url",
    "grafana_user": "--grafana-user",
}
_COMPONENTS = ("collector", "otlp", "prometheus", "jaeger", "loki", "alertmanager", "grafana")


def _seconds(text: str, most: float = 60) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= most:
        raise argparse.ArgumentTypeError(f"must be between 0 and {most:g} seconds")
    return value


def _deadline(text: str) -> float:
    return _seconds(text, most=600)


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
        help="check that the stack is up (--probe: that a signal gets through)",
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
    p.add_argument(
        "--probe",
        action="store_true",
        help="send a tagged span, metric point and log record and follow them to every backend",
    )
    p.add_argument(
        "--deadline",
        type=_deadline,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help=f"--probe: how long to wait for the data to arrive ({DEFAULT_DEADLINE:g})",
    )
    p.add_argument(
        "--logs-api",
        choices=LOGS_APIS,
        default="loki",
        help="--probe: the log store's query API at --loki-url (LogQL or LogsQL)",
    )
    p.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format (table)"
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


def render_probe(report: ProbeReport, console: Console) -> None:
    table = Table(title=f"chunkscope doctor --probe {report.probe_id}", title_justify="left")
    for column in ("hop", "status", "latency", "url", "detail"):
        table.add_column(
            column, overflow="fold", justify="right" if column == "latency" else "left"
        )
    for hop in report.hops:
        status = {True: "[green]ok[/green]", False: "[red]FAIL[/red]", None: "[dim]—[/dim]"}
        latency = f"{hop.seconds:.2f} s" if hop.seconds is not None else ""
        table.add_row(hop.name, status[hop.ok], latency, hop.url, hop.detail)
    console.print(table)
    broken = report.first_broken
    if broken is not None:
        console.print(f"fix: {broken.name}: {broken.fix}", highlight=False, soft_wrap=True)


def run(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, name) for name in _FLAGS}
    endpoints = Endpoints.from_env(**overrides)
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    if args.probe:
        report = run_probe(endpoints, deadline=args.deadline, logs_api=args.logs_api)
        if args.format == "json":
            print(json.dumps(report.to_dict(), indent=2))
        else:
            render_probe(report, console)
        return 0 if report.ok else 1
    checks = [c for c in build_checks(endpoints) if _component(c.name) not in args.skip]
    results = run_checks(checks, timeout=args.timeout)
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "check": r.check.name,
                        "ok": r.ok,
                        "detail": r.detail,
                        "seconds": r.seconds,
                        "url": r.check.url,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    else:
        render(results, console)
    return 0 if all(r.ok for r in results) else 1
