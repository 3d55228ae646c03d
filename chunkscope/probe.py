"""Does a signal get all the way through? The round trip of ``chunkscope doctor --probe``.

``chunkscope doctor`` asks each component whether it is up; the probe checks that the stack
carries data end to end. It sends one uniquely tagged span, metric point and log record to
the collector over OTLP/HTTP (JSON, standard library only, nothing of OpenTelemetry imported),
then polls each backend's own query API until a deadline:

* Jaeger ``/api/traces/<trace id>`` for the span;
* Prometheus ``/api/v1/query`` for ``chunkscope_doctor_probe{chunkscope_probe_id="<id>"}``;
* the log store for the log line: Loki through LogQL ``/loki/api/v1/query_range``, or
  VictoriaLogs through LogsQL ``/select/logsql/query`` (``--logs-api victorialogs``);
* Alertmanager ``/-/ready`` (alerts are not synthesised: a probe alert would page someone).

Each hop reports the time from sending to the backend answering with the probe's data.

The probe never shows up on a dashboard or in an alert: it reports as service ``doctor-probe``
(so Prometheus' ``job`` is ``doctor-probe``), which the rules' and dashboards' job selector
(``.*chunkscope.*``) does not match; its one metric, ``chunkscope_doctor_probe``, is in no
query; the Jaeger panels list service ``chunkscope`` only; and the log panels exclude
``service_name="doctor-probe"`` explicitly, since their service variable lists every stream.

    >>> from chunkscope.doctor import Endpoints
    >>> report = run_probe(Endpoints(otlp_http="http://127.0.0.1:9"), deadline=0.5)
    >>> [(h.name, h.ok) for h in report.hops][:2]
    [('collector accepts OTLP', False), ('Jaeger has the trace', None)]
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from chunkscope import names as N
from chunkscope.doctor import CheckFailed, Endpoints, _expect_200, _json, _request

__all__ = ["LOGS_APIS", "Hop", "ProbeReport", "logql", "run_probe"]

PROM_METRIC = N.PROBE_METRIC.replace(".", "_")
PROM_LABEL = N.prometheus_label(N.PROBE_ID)
LOGS_APIS = ("loki", "victorialogs")
DEFAULT_DEADLINE = 60.0
POLL_INTERVAL = 0.25
_UP = "docker compose -f deploy/docker-compose.yml --env-file deploy/.env up -d"


@dataclass(frozen=True)
class Hop:
    """One stretch of the path. ``ok`` is None when the probe never got that far."""

    name: str
    url: str
    ok: bool | None
    seconds: float | None
    detail: str
    fix: str


@dataclass
class ProbeReport:
    probe_id: str
    trace_id: str
    hops: list[Hop] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.hops)

    @property
    def first_broken(self) -> Hop | None:
        return next((h for h in self.hops if h.ok is False), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "probe_id": self.probe_id,
            "trace_id": self.trace_id,
            "hops": [asdict(h) for h in self.hops],
        }


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _resource() -> dict[str, Any]:
    # No service.namespace: Prometheus would make the job "<namespace>/<name>", and
    # "chunkscope/doctor-probe" would match the dashboards' job selector.
    return {"attributes": [_attr("service.name", N.PROBE_SERVICE)]}


def otlp_payloads(probe_id: str, trace_id: str, span_id: str, now_ns: int) -> dict[str, Any]:
    """The three OTLP/JSON export requests, by signal (``traces``, ``metrics``, ``logs``)."""
    scope = {"name": "chunkscope.doctor"}
    tag = [_attr(N.PROBE_ID, probe_id)]
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": N.PROBE_SPAN,
        "kind": 1,
        "startTimeUnixNano": str(now_ns - 1_000_000),
        "endTimeUnixNano": str(now_ns),
        "attributes": tag,
    }
    point = {"asInt": "1", "timeUnixNano": str(now_ns), "attributes": tag}
    record = {
        "timeUnixNano": str(now_ns),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": {"stringValue": f"chunkscope doctor probe {probe_id}"},
        "traceId": trace_id,
        "spanId": span_id,
        "attributes": tag,
    }
    return {
        "traces": {
            "resourceSpans": [
                {"resource": _resource(), "scopeSpans": [{"scope": scope, "spans": [span]}]}
            ]
        },
        "metrics": {
            "resourceMetrics": [
                {
                    "resource": _resource(),
                    "scopeMetrics": [
                        {
                            "scope": scope,
                            "metrics": [{"name": N.PROBE_METRIC, "gauge": {"dataPoints": [point]}}],
                        }
                    ],
                }
            ]
        },
        "logs": {
            "resourceLogs": [
                {"resource": _resource(), "scopeLogs": [{"scope": scope, "logRecords": [record]}]}
            ]
        },
    }


def _send(base: str, payloads: dict[str, Any], timeout: float) -> str:
    for signal, payload in payloads.items():
        url = f"{base.rstrip('/')}/v1/{signal}"
        try:
            _expect_200(
                url,
                timeout,
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"},
            )
        except CheckFailed as err:
            raise CheckFailed(f"{signal}: {err}") from None
    return "span, metric point and log record accepted"


def _jaeger_finds(base: str, trace_id: str) -> Callable[[float], str | None]:
    def look(timeout: float) -> str | None:
        status, body = _request(f"{base.rstrip('/')}/api/traces/{trace_id}", timeout)
        if status != 200:
            return None
        data = json.loads(body).get("data") or []
        spans = [s for t in data for s in t.get("spans", [])]
        return f"trace {trace_id[:8]}… with {len(spans)} span" if spans else None

    return look


def _prometheus_finds(base: str, probe_id: str) -> Callable[[float], str | None]:
    query = f'{PROM_METRIC}{{{PROM_LABEL}="{probe_id}"}}'

    def look(timeout: float) -> str | None:
        url = f"{base.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        result = _json(url, timeout)["data"]["result"]
        return f"{query} (job={result[0]['metric'].get('job')})" if result else None

    return look


def logql(probe_id: str) -> str:
    """The LogQL the Loki hop runs: the probe's stream, filtered to its own line."""
    return f'{{service_name="{N.PROBE_SERVICE}"}} |= "{probe_id}"'


def _loki_finds(base: str, probe_id: str, since_ns: int) -> Callable[[float], str | None]:
    def look(timeout: float) -> str | None:
        params = {
            "query": logql(probe_id),
            "start": str(since_ns - 60 * 10**9),
            "end": str(time.time_ns() + 60 * 10**9),
            "limit": "10",
            "direction": "backward",
        }
        url = f"{base.rstrip('/')}/loki/api/v1/query_range?" + urllib.parse.urlencode(params)
        body = _json(url, timeout)
        lines = [v[1] for r in body["data"]["result"] for v in r.get("values", [])]
        return f"{len(lines)} line via LogQL" if any(probe_id in ln for ln in lines) else None

    return look


def _victorialogs_finds(base: str, probe_id: str) -> Callable[[float], str | None]:
    query = f'service.name:="{N.PROBE_SERVICE}" AND "{probe_id}"'

    def look(timeout: float) -> str | None:
        url = f"{base.rstrip('/')}/select/logsql/query"
        data = urllib.parse.urlencode({"query": query, "limit": "10"}).encode()
        body = _expect_200(url, timeout, data=data)
        lines = [json.loads(ln) for ln in body.decode().splitlines() if ln.strip()]
        return f"{len(lines)} record via LogsQL" if lines else None

    return look


def _poll(
    look: Callable[[float], str | None], sent: float, deadline: float
) -> tuple[bool, float, str]:
    """Ask until the data is there or the deadline passes; errors are retried until then."""
    last = "not found"
    while True:
        remaining = deadline - time.monotonic()
        try:
            found = look(max(0.2, min(5.0, remaining)))
        except CheckFailed as err:
            found, last = None, str(err)
        except (ValueError, KeyError, TypeError) as err:
            found, last = None, f"unexpected answer: {type(err).__name__}: {err}"
        if found:
            return True, time.monotonic() - sent, found
        if time.monotonic() + POLL_INTERVAL > deadline:
            return False, time.monotonic() - sent, f"{last} within {deadline - sent:.0f} s"
        time.sleep(POLL_INTERVAL)


def run_probe(
    ep: Endpoints, deadline: float = DEFAULT_DEADLINE, logs_api: str = "loki"
) -> ProbeReport:
    """Send the probe, then poll every backend concurrently until ``deadline`` seconds."""
    if logs_api not in LOGS_APIS:
        raise ValueError(f"logs_api must be one of {LOGS_APIS}, got {logs_api!r}")
    probe_id = secrets.token_hex(8)
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    report = ProbeReport(probe_id, trace_id)
    now_ns = time.time_ns()
    sent = time.monotonic()
    try:
        detail = _send(ep.otlp_http, otlp_payloads(probe_id, trace_id, span_id, now_ns), 5.0)
        report.hops.append(
            Hop(
                "collector accepts OTLP",
                ep.otlp_http,
                True,
                time.monotonic() - sent,
                detail,
                "",
            )
        )
    except CheckFailed as err:
        report.hops.append(
            Hop(
                "collector accepts OTLP",
                ep.otlp_http,
                False,
                time.monotonic() - sent,
                str(err),
                f"start the collector ({_UP} otel-collector) and check that its OTLP HTTP "
                "port is where CHUNKSCOPE_OTLP_HTTP_ENDPOINT / --otlp-http says",
            )
        )
    logs_look = (
        _loki_finds(ep.loki, probe_id, now_ns)
        if logs_api == "loki"
        else _victorialogs_finds(ep.loki, probe_id)
    )
    backends: list[tuple[str, str, Callable[[float], str | None], str]] = [
        (
            "Jaeger has the trace",
            ep.jaeger,
            _jaeger_finds(ep.jaeger, trace_id),
            "check the collector's traces pipeline and JAEGER_ENDPOINT (otlp_grpc/jaeger "
            "exporter), then the collector log for export errors",
        ),
        (
            "Prometheus has the series",
            ep.prometheus,
            _prometheus_finds(ep.prometheus, probe_id),
            "check that Prometheus scrapes the collector's prometheus exporter (:8889 in "
            "prometheus.yml) and that the collector's metrics pipeline exports to it",
        ),
        (
            "log store has the line",
            ep.loki,
            logs_look,
            "check the collector's logs pipeline and LOKI_ENDPOINT (otlp_http/loki exporter), "
            "and that the log store ingests OTLP",
        ),
    ]
    if not report.hops[0].ok:
        report.hops += [Hop(n, u, None, None, "not reached", f) for n, u, _, f in backends]
    else:
        end = sent + deadline
        with ThreadPoolExecutor(max_workers=len(backends)) as pool:
            polled = list(pool.map(lambda b: _poll(b[2], sent, end), backends))
        for (name, url, _, fix), (ok, seconds, detail) in zip(backends, polled, strict=True):
            report.hops.append(Hop(name, url, ok, seconds, detail, "" if ok else fix))
    ready_url = ep.alertmanager.rstrip("/") + "/-/ready"
    started = time.monotonic()
    try:
        _expect_200(ready_url, 5.0)
        ok, detail, fix = True, "ready", ""
    except CheckFailed as err:
        ok, detail = False, str(err)
        fix = f"start Alertmanager: {_UP} alertmanager, and point prometheus.yml's alerting at it"
    report.hops.append(
        Hop("Alertmanager ready", ready_url, ok, time.monotonic() - started, detail, fix)
    )
    return report
