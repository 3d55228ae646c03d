"""Every query the generated files contain, for tests that run or parse them.

``all_promql()`` lists (where, expr) for every dashboard target, template variable, recording
rule and alert condition's left-hand side, ready to send to Prometheus (Grafana's variables
and ``$__rate_interval`` substituted). ``all_logql()`` does the same for Loki.

    >>> from chunkscope_dashboards.queries import all_promql, metric_names
    >>> where, expr = all_promql()[0]
    >>> sorted(metric_names('sum by (job) (rate(chunkscope_files_total{job="x"}[5m]))'))
    ['chunkscope_files_total']
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from .config import DEFAULT, Config
from .promql import METRICS

__all__ = [
    "all_logql",
    "all_promql",
    "families_of",
    "family",
    "metric_names",
    "runnable",
    "selectors",
]

# What a query sees from Grafana when "All" is selected and the time range is short.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "30s",
    "$__range": "1h",
    '"$job"': '".+"',
    '"$instance"': '".+"',
    '"$language"': '".*"',
    '"$chunker"': '".+"',
}

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    "le",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LABEL_LIST = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})?")
_NAME_MATCHER = re.compile(r'__name__\s*=~\s*"([^"]*)"')
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$")


def runnable(expr: str) -> str:
    """The query Grafana would send with "All" selected: variables and intervals substituted."""
    for var, value in SUBSTITUTIONS.items():
        expr = expr.replace(var, value)
    return expr


def selectors(expr: str) -> list[tuple[str, str]]:
    """Vector selectors in ``expr`` as (metric name or "", matcher block) pairs.

    A small scanner, not a full PromQL parser: enough for the expressions this package
    writes (the real parse happens in Prometheus and promtool).
    """
    masked = _STRING.sub(lambda m: "\0" * len(m.group(0)), expr)
    masked = _LABEL_LIST.sub(lambda m: " " * len(m.group(0)), masked)
    masked = re.sub(r"\[[^\]]*\]", lambda m: " " * len(m.group(0)), masked)
    out = []
    for m in _SELECTOR.finditer(masked):
        name, block = m.group(1), m.group(2)
        if not name and not block:
            continue
        rest = masked[m.end() :].lstrip()
        if name and not block and (rest.startswith("(") or name.lower() in _KEYWORDS):
            continue
        if name and re.fullmatch(r"\d.*|[eE]", name):
            continue
        start = m.start(2) if block else m.end()
        real_block = expr[start : m.end()] if block else ""
        out.append((name or "", real_block))
    return out


def metric_names(expr: str) -> set[str]:
    """Metric names a query reads; a ``__name__=~`` regex expands over the known families."""
    names: set[str] = set()
    known = [n for group in METRICS.values() for n in group]
    for name, block in selectors(expr):
        if name:
            names.add(name)
        for pattern in _NAME_MATCHER.findall(block):
            names.update(n for n in known if re.fullmatch(pattern, n))
    return names


def family(name: str) -> str:
    """Which emitter a metric belongs to: chunkscope, process, service, collector, prometheus,
    recording (a rule's output), or unknown."""
    if ":" in name:
        return "recording"
    base = re.sub(r"_(bucket|count|sum)$", "", name)
    for group, members in METRICS.items():
        if name in members or base in members:
            return group
    return "unknown"


def _targets(panel: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from panel.get("targets", [])
    for sub in panel.get("panels", []):
        yield from _targets(sub)


def _dashboards(cfg: Config) -> dict[str, dict[str, Any]]:
    from .generate import dashboard_data

    return dashboard_data(cfg)


def families_of(expr: str, cfg: Config = DEFAULT) -> set[str]:
    """The metric families a query reads, looking through recording rules to their sources."""
    from .rules import inline

    return {family(n) for n in metric_names(inline(expr, cfg))}


def all_promql(
    cfg: Config = DEFAULT, *, raw: bool = False, families: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(where, expr) for every PromQL in dashboards, variables, recording rules and alerts.

    Alerts contribute each condition's left-hand side (what must return data on a healthy
    system); ``raw=True`` keeps Grafana's variables instead of substituting them.
    ``families`` keeps only queries reading nothing but those families (chunkscope, process,
    service, collector, prometheus), for a test whose stack emits only some of them.
    """
    if families is not None:
        wanted = set(families)
        return [(w, e) for w, e in all_promql(cfg, raw=raw) if families_of(e, cfg) <= wanted]
    from .rules import alerts, recording_rules

    fix = (lambda e: e) if raw else runnable
    out: list[tuple[str, str]] = []
    for name, dash in sorted(_dashboards(cfg).items()):
        for var in dash["templating"]["list"]:
            query = var.get("query")
            ds = var.get("datasource") or {}
            if var.get("type") == "query" and ds.get("type") == "prometheus":
                m = _LABEL_VALUES.match(query)
                if m:
                    out.append((f"{name} variable ${var['name']}", fix(m.group(1))))
        for panel in dash["panels"]:
            for target in _targets(panel):
                if target.get("datasource", {}).get("type") == "prometheus":
                    where = f"{name} panel '{panel['title']}' {target['refId']}"
                    out.append((where, fix(target["expr"])))
    for rec in recording_rules(cfg):
        out.append((f"rule {rec.record}", rec.expr))
    for alert in alerts(cfg):
        for i, cond in enumerate(alert.conditions):
            out.append((f"alert {alert.name}/{alert.severity} condition {i}", cond.lhs))
    return out


def all_logql(cfg: Config = DEFAULT) -> list[tuple[str, str]]:
    """(where, expr) for every LogQL in the dashboards, with Grafana's variables kept."""
    out = []
    for name, dash in sorted(_dashboards(cfg).items()):
        for panel in dash["panels"]:
            for target in _targets(panel):
                if target.get("datasource", {}).get("type") == "loki":
                    out.append(
                        (f"{name} panel '{panel['title']}' {target['refId']}", target["expr"])
                    )
    return out
