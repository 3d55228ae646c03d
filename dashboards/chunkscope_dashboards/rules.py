"""Recording and alerting rules as data, rendered to Prometheus rule files.

The same :class:`Alert` objects feed :mod:`chunkscope_dashboards.alerting` (Grafana-managed
alerts), so both alerting paths fire on the same conditions. Every alert is built from
:class:`Condition` s (``lhs op threshold``) joined with ``and``; tests evaluate each ``lhs``
against a real Prometheus, and Grafana evaluates the first condition's threshold itself.

Style: monitoring-mixins. Alert names are CamelCase with the ``Chunkscope`` prefix, labels
carry ``severity`` (``warning``/``critical``), annotations a ``summary``, a templated
``description`` and a ``runbook_url`` added in one place (:func:`_annotate`). Recording rules
are named ``level:metric:operation``.

>>> from chunkscope_dashboards.config import DEFAULT
>>> sorted({a.name for a in alerts(DEFAULT)})[:2]
['ChunkscopeExporterSendFailing', 'ChunkscopeHighErrorRatio']
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .promql import SIGNALS, histogram_quantile, ratio_or_zero, sum_by, sum_rate, sum_rates_of

__all__ = [
    "Alert",
    "Condition",
    "Recording",
    "alerts",
    "inline",
    "recording_rules",
    "rule_files",
]

JOB = ("job",)
EXPORTER = ("job", "exporter")


@dataclass(frozen=True)
class Recording:
    """A recording rule: ``record`` is ``level:metric:operation``."""

    record: str
    expr: str


@dataclass(frozen=True)
class Condition:
    """``lhs op threshold``; ``lhs`` is what a healthy system still returns (non-empty)."""

    lhs: str
    op: str
    threshold: float

    def promql(self) -> str:
        return f"{_paren(self.lhs)} {self.op} {_num(self.threshold)}"


@dataclass(frozen=True)
class Alert:
    """One alerting rule; ``conditions`` are joined with ``and`` (multi-window burn rates)."""

    name: str
    severity: str
    conditions: tuple[Condition, ...]
    for_: str
    summary: str
    description: str
    group: str
    dashboard: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def expr(self) -> str:
        return "\nand\n".join(c.promql() for c in self.conditions)


def _num(x: float) -> str:
    """Exact enough for budgets in bytes (``1073741824``), short for ratios (``0.05``)."""
    return format(x, ".12g")


def _paren(expr: str) -> str:
    """Parenthesize anything that is not a bare selector, so operators bind as written."""
    return expr if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?", expr) else f"({expr})"


def recording_rules(cfg: Config) -> list[Recording]:
    """Aggregations the alerts read; each is cheap to evaluate and worth a name."""
    s = (cfg.chunkscope_selector,)
    req = (cfg.chunkscope_selector, cfg.service_request_selector)
    stall = cfg.throughput_stall_window
    files = sum_rate("chunkscope_files_total", s, "5m", JOB)
    errors = sum_rate("chunkscope_files_total", (*s, 'chunkscope_outcome="error"'), "5m", JOB)
    # Loss anywhere in the collector: refused at a receiver (memory_limiter pushes back there)
    # or not enqueued because an exporter queue is full. Failure counters appear only after the
    # first failure, so a healthy collector reads 0 through the always-present accepted/sent ones.
    sfx, c = cfg.collector_counter_suffix, (cfg.collector_selector,)
    lost = sum_rates_of(
        [
            f"otelcol_{counter}_{sig}{sfx}"
            for counter in ("receiver_refused", "exporter_enqueue_failed")
            for sig in SIGNALS
        ],
        c,
        "5m",
        JOB,
    )
    healthy = sum_rate(f"otelcol_receiver_accepted_spans{sfx}", c, "5m", JOB)
    failed = sum_rates_of(
        [f"otelcol_exporter_send_failed_{sig}{sfx}" for sig in SIGNALS], c, "5m", EXPORTER
    )
    sent = sum_rate(f"otelcol_exporter_sent_spans{sfx}", c, "5m", EXPORTER)
    rules = [
        Recording("job:chunkscope_files:rate5m", files),
        Recording("job:chunkscope_files:error_ratio_rate5m", ratio_or_zero(errors, files)),
        Recording("job:chunkscope_bytes:rate5m", sum_rate("chunkscope_bytes_total", s, "5m", JOB)),
        Recording(
            "job:chunkscope_chunks:rate5m", sum_rate("chunkscope_chunks_total", s, "5m", JOB)
        ),
        Recording(
            f"job:chunkscope_files:rate{stall}", sum_rate("chunkscope_files_total", s, stall, JOB)
        ),
        Recording(
            "job:chunkscope_files_active:sum", sum_by(JOB, f"chunkscope_files_active{{{s[0]}}}")
        ),
        Recording(
            "job_language:chunkscope_parse_duration_seconds:p95_5m",
            histogram_quantile(
                0.95, "chunkscope_parse_duration_seconds", s, "5m", (*JOB, "chunkscope_language")
            ),
        ),
        Recording(
            "job_language:chunkscope_extract_duration_seconds:p95_5m",
            histogram_quantile(
                0.95, "chunkscope_extract_duration_seconds", s, "5m", (*JOB, "chunkscope_language")
            ),
        ),
        Recording(
            "job_instance:process_memory_usage_bytes:max",
            sum_by(("job", "instance"), f"process_memory_usage_bytes{{{s[0]}}}", agg="max"),
        ),
        Recording("job:otelcol_telemetry_lost:rate5m", f"{lost}\nor\n{healthy} * 0"),
        Recording("job_exporter:otelcol_exporter_send_failed:rate5m", f"{failed}\nor\n{sent} * 0"),
        Recording(
            "job:chunkscope_serve_shed:ratio_rate5m",
            ratio_or_zero(
                sum_rate("chunkscope_serve_shed_total", s, "5m", JOB),
                sum_rate("http_server_request_duration_seconds_count", req, "5m", JOB),
            ),
        ),
    ]
    le = f'le="{_num(cfg.latency_slo_seconds)}"'
    windows = sorted(
        {w for pair in (cfg.slo_burn_page, cfg.slo_burn_ticket) for w in pair[:2]},
        key=_seconds,
    )
    for w in windows:
        fast = sum_rate("http_server_request_duration_seconds_bucket", (*req, le), w, JOB)
        total = sum_rate("http_server_request_duration_seconds_count", req, w, JOB)
        rules.append(
            Recording(
                f"job:chunkscope_serve_slow_requests:ratio_rate{w}",
                f"1 - ({fast} / {total})",
            )
        )
    return rules


def _seconds(d: str) -> int:
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[d[-1]]
    return int(d[:-1]) * unit


def alerts(cfg: Config) -> list[Alert]:
    """Every alert, in the order the runbook documents them."""
    pct = "{{ $value | humanizePercentage }}"
    job = "{{ $labels.job }}"
    stall = cfg.throughput_stall_window
    out = [
        Alert(
            "ChunkscopeHighErrorRatio",
            "warning",
            (Condition("job:chunkscope_files:error_ratio_rate5m", ">", cfg.error_ratio_warning),),
            cfg.for_long,
            "chunkscope is failing on a notable share of files.",
            f"{pct} of files in {job} ended in an error over the last 5 minutes "
            f"(threshold {cfg.error_ratio_warning:.0%}).",
            "chunkscope.chunker",
            "overview",
        ),
        Alert(
            "ChunkscopeHighErrorRatio",
            "critical",
            (Condition("job:chunkscope_files:error_ratio_rate5m", ">", cfg.error_ratio_critical),),
            cfg.for_short,
            "chunkscope is failing on a large share of files.",
            f"{pct} of files in {job} ended in an error over the last 5 minutes "
            f"(threshold {cfg.error_ratio_critical:.0%}).",
            "chunkscope.chunker",
            "overview",
        ),
        Alert(
            "ChunkscopeParseLatencyHigh",
            "warning",
            (
                Condition(
                    "job_language:chunkscope_parse_duration_seconds:p95_5m",
                    ">",
                    cfg.parse_p95_budget_seconds,
                ),
            ),
            cfg.for_long,
            "Parsing is slower than its latency budget.",
            "p95 parse latency for {{ $labels.chunkscope_language }} in "
            f"{job} is {{{{ $value | humanizeDuration }}}} "
            f"(budget {cfg.parse_p95_budget_seconds:g}s).",
            "chunkscope.chunker",
            "languages",
        ),
        Alert(
            "ChunkscopeThroughputStalled",
            "warning",
            (
                Condition("job:chunkscope_files_active:sum", ">", 0),
                Condition(
                    f"job:chunkscope_files:rate{stall} or job:chunkscope_files_active:sum * 0",
                    "==",
                    0,
                ),
            ),
            cfg.for_short,
            "chunkscope has files in flight but finishes none.",
            f"{job} has {{{{ $value }}}} files in flight and finished none in the last {stall}: "
            "a parse or a worker is stuck.",
            "chunkscope.chunker",
            "overview",
        ),
        Alert(
            "ChunkscopeMemoryHigh",
            "warning",
            (
                Condition(
                    "job_instance:process_memory_usage_bytes:max", ">", cfg.memory_budget_bytes
                ),
            ),
            cfg.for_long,
            "A chunkscope process uses more memory than its budget.",
            "{{ $labels.instance }} of "
            f"{job} has {{{{ $value | humanize1024 }}}}B resident "
            f"(budget {cfg.memory_budget_bytes / 2**20:g} MiB).",
            "chunkscope.resources",
            "resources",
        ),
        Alert(
            "ChunkscopeTelemetryLost",
            "warning",
            (Condition("job:otelcol_telemetry_lost:rate5m", ">", cfg.telemetry_loss_per_second),),
            cfg.for_long,
            "The OpenTelemetry Collector is refusing or dropping telemetry.",
            f"Collector {job} refused or dropped {{{{ $value | humanize }}}} items/s "
            "(spans, metric points or log records) over the last 5 minutes.",
            "chunkscope.telemetry",
            "pipeline",
        ),
        Alert(
            "ChunkscopeExporterSendFailing",
            "warning",
            (
                Condition(
                    "job_exporter:otelcol_exporter_send_failed:rate5m",
                    ">",
                    cfg.exporter_failure_per_second,
                ),
            ),
            cfg.for_long,
            "A collector exporter cannot deliver telemetry to its backend.",
            "Exporter {{ $labels.exporter }} of collector "
            f"{job} fails to send {{{{ $value | humanize }}}} items/s.",
            "chunkscope.telemetry",
            "pipeline",
        ),
        Alert(
            "ChunkscopeTargetDown",
            "warning",
            (Condition(f"up{{{cfg.target_down_selector}}}", "==", 0),),
            cfg.for_short,
            "Prometheus cannot scrape a chunkscope or collector target.",
            "{{ $labels.instance }} of "
            f"{job} has been unreachable for Prometheus for {cfg.for_short}.",
            "chunkscope.telemetry",
            "pipeline",
        ),
        Alert(
            "ChunkscopeServiceSheddingHigh",
            "warning",
            (Condition("job:chunkscope_serve_shed:ratio_rate5m", ">", cfg.shed_ratio_warning),),
            cfg.for_long,
            "chunkscope serve is rejecting requests because it is saturated.",
            f"{pct} of chunk requests to {job} were shed with 429 over the last 5 minutes "
            f"(threshold {cfg.shed_ratio_warning:.0%}).",
            "chunkscope.service",
            "overview",
        ),
    ]
    budget = cfg.slo_error_budget
    for (long, short, factor), severity, for_ in (
        (cfg.slo_burn_page, "critical", "2m"),
        (cfg.slo_burn_ticket, "warning", cfg.for_long),
    ):
        limit = round(factor * budget, 10)
        out.append(
            Alert(
                "ChunkscopeServiceLatencyBudgetBurn",
                severity,
                (
                    Condition(f"job:chunkscope_serve_slow_requests:ratio_rate{long}", ">", limit),
                    Condition(f"job:chunkscope_serve_slow_requests:ratio_rate{short}", ">", limit),
                ),
                for_,
                "chunkscope serve is burning its latency error budget too fast.",
                f"{pct} of chunk requests to {job} took longer than "
                f"{cfg.latency_slo_seconds:g}s over the last {long} (SLO: "
                f"{cfg.latency_slo_objective:.1%} within {cfg.latency_slo_seconds:g}s; "
                f"burn rate above {factor:g}).",
                "chunkscope.service",
                "overview",
                labels={"long": long, "short": short},
            )
        )
    return out


def inline(expr: str, cfg: Config) -> str:
    """Replace recording-rule names with their expressions, for Grafana-managed alerts.

    Grafana evaluates queries against Prometheus directly and must not depend on the rule
    files being loaded there.
    """
    table = {r.record: r.expr for r in recording_rules(cfg)}
    names = sorted(table, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in names) + r"(?![a-zA-Z0-9_:])")
    return pattern.sub(lambda m: f"({table[m.group(0)]})", expr)


def _annotate(alert: Alert, cfg: Config) -> dict[str, str]:
    """The one place that adds summary, description and runbook_url to every alert."""
    return {
        "description": alert.description,
        "runbook_url": cfg.runbook_url(alert.name),
        "summary": alert.summary,
    }


def _alert_rule(alert: Alert, cfg: Config) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {"severity": alert.severity, **alert.labels},
        "annotations": _annotate(alert, cfg),
    }


def _groups(items: Sequence[Alert]) -> Iterator[tuple[str, list[Alert]]]:
    seen: dict[str, list[Alert]] = {}
    for a in items:
        seen.setdefault(a.group, []).append(a)
    yield from seen.items()


def rule_files(cfg: Config) -> dict[str, dict[str, Any]]:
    """File name -> Prometheus rule file content (``groups:``)."""
    return {
        "chunkscope.rules.yml": {
            "groups": [
                {
                    "name": "chunkscope.recording",
                    "rules": [{"record": r.record, "expr": r.expr} for r in recording_rules(cfg)],
                }
            ]
        },
        "chunkscope.alerts.yml": {
            "groups": [
                {"name": name, "rules": [_alert_rule(a, cfg) for a in group]}
                for name, group in _groups(alerts(cfg))
            ]
        },
    }
