"""The one home of every threshold, budget, selector and datasource chunkscope uses.

Like a monitoring mixin's ``_config``: the dashboards, the Prometheus rules, the
Grafana-managed alerts and their delivery, the runbook links, ``chunkscope bench``'s
regression tolerances and ``chunkscope loadtest``'s budgets all read these numbers, so a
budget changed here changes everywhere at once. The module imports nothing outside the
standard library (PyYAML only when a YAML file is read), so the chunker, the service and the
load tools import it as cheaply as the dashboards generator does. Override any field from a
YAML or JSON file::

    # my-thresholds.yaml
    parse_p95_budget_seconds: 0.5
    memory_budget_bytes: 2147483648

    chunkscope dashboards generate --config my-thresholds.yaml
    chunkscope bench --compare baseline.json --config my-thresholds.yaml

>>> from chunkscope.config import load_config
>>> load_config().error_ratio_warning
0.05
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["CHANNELS", "DEFAULT", "Config", "ConfigError", "load_config"]


class ConfigError(ValueError):
    """A config file names a field that does not exist or gives it the wrong type."""


@dataclass(frozen=True)
class Config:
    """Thresholds, budgets, selectors and datasources; defaults suit one chunkscope deployment."""

    # --- Datasources (uids must match deploy/grafana/provisioning/datasources) ---
    prometheus_datasource_uid: str = "prometheus"
    loki_datasource_uid: str = "loki"
    jaeger_datasource_uid: str = "jaeger"
    # Grafana folder the provisioned alert rules land in.
    grafana_alert_folder: str = "chunkscope"

    # --- Selectors (PromQL label matchers, without braces) ---
    # Chunker metrics: through the collector's prometheus exporter `job` is the service.name
    # (honor_labels); scraped directly from CHUNKSCOPE_PROMETHEUS_PORT it is the scrape job name.
    chunkscope_selector: str = 'job=~".*chunkscope.*"'
    # The collector's own telemetry endpoint (service.telemetry.metrics, :8888 style).
    collector_selector: str = 'job=~".*otel.*collector.*"'
    # Long-running targets whose absence is an outage (collector, `chunkscope serve`). A CLI run
    # that exits is not "down", so plain CLI scrape jobs are deliberately not matched by default.
    target_down_selector: str = 'job=~".*otel.*collector.*|chunkscope-serve.*"'
    # Requests that count against the service SLO: the chunk endpoints, not probes.
    service_request_selector: str = 'http_route=~"/v1/chunk.*"'
    # Loki stream selector label for the service (resource attribute service.name).
    log_service_label: str = "service_name"
    default_log_service: str = "chunkscope"

    # --- Chunker thresholds ---
    # Share of files ending in outcome=error over 5m.
    error_ratio_warning: float = 0.05
    error_ratio_critical: float = 0.25
    # p95 of chunkscope.parse.duration per language, over 5m. Tree-sitter parses a typical
    # source file in a few ms; a quarter second at p95 means pathological inputs or starvation.
    parse_p95_budget_seconds: float = 0.25
    # Files in flight but none finished over this window: the run is stuck.
    throughput_stall_window: str = "10m"
    # process.memory.usage (RSS) per process.
    memory_budget_bytes: int = 1024 * 1024 * 1024

    # Suffix of the collector's counters as Prometheus sees them: "" for the pinned collector's
    # pull reader (otelcol_exporter_sent_spans), "_total" for collectors that add it.
    collector_counter_suffix: str = ""

    # --- Telemetry pipeline thresholds ---
    # Items per second refused/dropped by the collector before an alert (0: any loss alerts).
    telemetry_loss_per_second: float = 0.0
    # Items per second the exporters fail to send before an alert.
    exporter_failure_per_second: float = 0.0

    # --- Service (chunkscope serve) thresholds ---
    # Share of requests shed with 429 over 5m.
    shed_ratio_warning: float = 0.05
    # Latency SLO: `latency_slo_objective` of requests finish within `latency_slo_seconds`.
    # The threshold must be a bucket boundary of http.server.request.duration.
    latency_slo_seconds: float = 0.5
    latency_slo_objective: float = 0.99
    # Multi-window multi-burn-rate pairs (Google SRE workbook): (long, short, burn factor).
    slo_burn_page: tuple[str, str, float] = ("1h", "5m", 14.4)
    slo_burn_ticket: tuple[str, str, float] = ("6h", "30m", 6.0)
    # p95 latency budget the load tests report against.
    service_p95_budget_seconds: float = 0.5
    # Endurance load test: growth of the server's RSS, first to last quarter, that is a leak.
    rss_growth_limit_pct: float = 10.0

    # --- Benchmark regression tolerances (chunkscope bench --compare) ---
    bench_throughput_drop_pct: float = 5.0
    bench_p95_rise_pct: float = 10.0

    # --- Alert timing ---
    # How long a condition must hold before firing: long enough to ride out one bad scrape.
    for_short: str = "5m"
    for_long: str = "15m"
    # Rule group evaluation interval (Grafana-managed alerting and Prometheus rule groups).
    evaluation_interval: str = "1m"

    # --- Alert delivery (Alertmanager and Grafana contact points) ---
    # The default receiver: any HTTP endpoint that takes Alertmanager's webhook JSON. Every
    # alert goes here, resolved ones too.
    alert_webhook_url: str = "http://alert-webhook:9095/alerts"
    # Channels besides the webhook, comma-separated, from: slack, email, pagerduty. Their
    # secrets are never in a file here: Alertmanager and Grafana read them from files under
    # `alert_secrets_dir` (compose fills them from environment variables, k8s from a Secret):
    # slack_api_url, email_password, pagerduty_routing_key.
    alert_channels: str = ""
    alert_secrets_dir: str = "/etc/alertmanager/secrets"
    alert_slack_channel: str = "#chunkscope-alerts"
    alert_email_to: str = "oncall@example.com"
    alert_email_from: str = "alertmanager@example.com"
    alert_email_smarthost: str = "smtp.example.com:587"
    alert_email_username: str = "alertmanager"
    # Alertmanager's notification pacing: wait before the first notification of a group, between
    # updates of a group, and before repeating an unchanged one.
    alert_group_wait: str = "30s"
    alert_group_interval: str = "5m"
    alert_repeat_interval: str = "4h"

    # --- Links ---
    # Absolute URL where docs/runbook.md is browsable, so a runbook link opens from
    # Alertmanager, Slack or Grafana; point it at your copy of the repository.
    runbook_base_url: str = "https://github.com/chunkscope/chunkscope/blob/main/docs/runbook.md"
    dashboard_uid_prefix: str = "chunkscope"

    @property
    def slo_error_budget(self) -> float:
        """Allowed share of slow requests: 1 - objective."""
        return round(1.0 - self.latency_slo_objective, 10)

    def runbook_url(self, alert: str) -> str:
        """Anchor in docs/runbook.md for an alert: the lower-cased alert name."""
        return f"{self.runbook_base_url}#{alert.lower()}"

    @property
    def channels(self) -> tuple[str, ...]:
        """The extra alert channels, validated, in a fixed order."""
        names = {c.strip() for c in self.alert_channels.split(",") if c.strip()}
        unknown = names - set(CHANNELS)
        if unknown:
            raise ConfigError(f"alert_channels: unknown {', '.join(sorted(unknown))}")
        return tuple(c for c in CHANNELS if c in names)

    def __post_init__(self) -> None:
        if not re.match(r"https?://", self.runbook_base_url):
            raise ConfigError(
                f"runbook_base_url: must be an absolute http(s) URL, got {self.runbook_base_url!r}"
            )
        self.channels  # noqa: B018 (validates alert_channels)


CHANNELS = ("slack", "email", "pagerduty")
"""Alert channels besides the default webhook, in the order receivers list them."""


DEFAULT = Config()


def _coerce(name: str, default: Any, value: Any) -> Any:
    """Accept JSON/YAML natural types: lists for tuples, ints for floats; reject the rest."""
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or len(value) != len(default):
            raise ConfigError(f"{name}: expected a list of {len(default)} items, got {value!r}")
        return tuple(_coerce(name, d, v) for d, v in zip(default, value, strict=True))
    if isinstance(default, bool) or not isinstance(default, int | float | str):
        raise ConfigError(f"{name}: unsupported field type")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"{name}: expected {type(default).__name__}, got {value!r}")
    return value


def load_config(path: str | Path | None = None, base: Config = DEFAULT) -> Config:
    """Return ``base`` with the fields a YAML or JSON file sets; unknown keys are errors."""
    if path is None:
        return base
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".json"):
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if data is None:
        return base
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of field -> value")
    known = {f.name: getattr(base, f.name) for f in fields(base)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown fields {', '.join(unknown)}")
    changes = {k: _coerce(k, known[k], v) for k, v in data.items()}
    return dataclasses.replace(base, **changes)
