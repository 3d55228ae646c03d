"""``chunkscope doctor --probe`` against a stub stack on loopback.

The end-to-end suite runs the probe against the real collector, Jaeger, Prometheus and
VictoriaLogs. Loki itself cannot run here (its Go module is AGPL-licensed), so the Loki hop —
LogQL over ``/loki/api/v1/query_range`` — is tested only here, against a minimal stub of Loki's
query API that answers the one LogQL shape the probe sends from the records it was pushed.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chunkscope.doctor import Endpoints
from chunkscope.names import PROBE_ID, PROBE_SERVICE
from chunkscope.probe import logql, run_probe

_LOGQL = re.compile(r'^\{service_name="(?P<service>[^"]+)"\} \|= "(?P<needle>[^"]+)"$')


@dataclass
class StubStack:
    """One loopback server playing the collector (OTLP/JSON in), Jaeger's, Prometheus's and
    Loki's query APIs and Alertmanager's readiness, answering from what it was sent."""

    drop: set[str] = field(default_factory=set)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logql_seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def _resources(self, signal: str, key: str) -> Iterator[tuple[dict[str, str], dict]]:
        for payload in self.received.get(signal, []):
            for res in payload[key]:
                attrs = {a["key"]: a["value"]["stringValue"] for a in res["resource"]["attributes"]}
                yield attrs, res

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path.startswith("/api/traces/"):
            trace_id = path.rsplit("/", 1)[1]
            spans = [
                {"traceID": s["traceId"], "spanID": s["spanId"]}
                for _, res in self._resources("traces", "resourceSpans")
                for ss in res["scopeSpans"]
                for s in ss["spans"]
                if s["traceId"] == trace_id
            ]
            return (200, {"data": [{"spans": spans}]}) if spans else (404, {"data": None})
        if path == "/api/v1/query":
            m = re.fullmatch(
                r'chunkscope_doctor_probe\{chunkscope_probe_id="(\w+)"\}', query["query"]
            )
            assert m, query
            hits = [
                {"metric": {"job": attrs["service.name"]}, "value": [0, "1"]}
                for attrs, res in self._resources("metrics", "resourceMetrics")
                for sm in res["scopeMetrics"]
                for metric in sm["metrics"]
                for point in metric["gauge"]["dataPoints"]
                if {"key": PROBE_ID, "value": {"stringValue": m.group(1)}} in point["attributes"]
            ]
            return 200, {"status": "success", "data": {"resultType": "vector", "result": hits}}
        if path == "/loki/api/v1/query_range":
            self.logql_seen.append(query)
            m = _LOGQL.match(query.get("query", ""))
            if m is None or not (query["start"].isdigit() and query["end"].isdigit()):
                return 400, {"message": f"parse error: {query}"}
            values = [
                [record["timeUnixNano"], record["body"]["stringValue"]]
                for attrs, res in self._resources("logs", "resourceLogs")
                if attrs["service.name"] == m["service"]
                for sl in res["scopeLogs"]
                for record in sl["logRecords"]
                if m["needle"] in record["body"]["stringValue"]
            ]
            streams = [{"stream": {"service_name": m["service"]}, "values": values}]
            return 200, {"status": "success", "data": {"resultType": "streams", "result": streams}}
        if path == "/-/ready":
            return 200, "OK"
        return 404, {}


@pytest.fixture
def stub() -> Iterator[StubStack]:
    state = StubStack()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            signal = self.path.rsplit("/", 1)[1]
            if signal not in state.drop:
                state.received.setdefault(signal, []).append(body)
            self._reply(200, {})

        def do_GET(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            self._reply(*state.answer(parsed.path, query))

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def endpoints(url: str) -> Endpoints:
    return Endpoints(otlp_http=url, jaeger=url, prometheus=url, loki=url, alertmanager=url)


class TestProbe:
    def test_every_hop_passes_and_the_loki_hop_uses_logql_query_range(
        self, stub: StubStack
    ) -> None:
        """The span, point and record sent are each found; the log hop asks Loki's
        query_range with the probe's LogQL over a window around the send."""
        report = run_probe(endpoints(stub.url), deadline=10)
        assert [(h.name, h.ok) for h in report.hops] == [
            ("collector accepts OTLP", True),
            ("Jaeger has the trace", True),
            ("Prometheus has the series", True),
            ("log store has the line", True),
            ("Alertmanager ready", True),
        ]
        assert all(h.seconds is not None and h.seconds < 10 for h in report.hops)
        [query] = {q["query"] for q in stub.logql_seen}
        assert query == logql(report.probe_id)
        assert query.startswith(f'{{service_name="{PROBE_SERVICE}"}}')

    def test_probe_is_tagged_with_its_own_service_and_id(self, stub: StubStack) -> None:
        report = run_probe(endpoints(stub.url), deadline=10)
        for signal, key in (("traces", "resourceSpans"), ("metrics", "resourceMetrics")):
            [(attrs, _)] = list(stub._resources(signal, key))
            assert attrs["service.name"] == PROBE_SERVICE
        [payload] = stub.received["logs"]
        [record] = payload["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        assert record["traceId"] == report.trace_id
        assert report.probe_id in record["body"]["stringValue"]

    def test_lost_logs_fail_the_log_hop_only(self, stub: StubStack) -> None:
        """The collector accepts the log record but it never reaches the store: that hop fails
        at the deadline and is the first broken one; the others pass."""
        stub.drop.add("logs")
        report = run_probe(endpoints(stub.url), deadline=1.5)
        assert [h.ok for h in report.hops] == [True, True, True, False, True]
        broken = report.first_broken
        assert broken is not None and broken.name == "log store has the line"
        assert "within" in broken.detail and "LOKI_ENDPOINT" in broken.fix
        assert len(stub.logql_seen) >= 2  # polled, not asked once

    def test_unknown_logs_api_is_refused(self, stub: StubStack) -> None:
        with pytest.raises(ValueError, match="logs_api"):
            run_probe(endpoints(stub.url), logs_api="elasticsearch")


class TestProbeCommand:
    def _doctor(self, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        flags = ["--otlp-http", url, "--jaeger-url", url, "--prometheus-url", url]
        flags += ["--loki-url", url, "--alertmanager-url", url]
        return subprocess.run(
            [sys.executable, "-m", "chunkscope", "doctor", "--probe", *flags, *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_json_output_and_exit_zero(self, stub: StubStack) -> None:
        result = self._doctor(stub.url, "--format", "json", "--deadline", "10")
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["ok"] is True
        assert report["hops"][0]["name"] == "collector accepts OTLP"
        assert all(h["seconds"] >= 0 for h in report["hops"])

    def test_broken_collector_exits_one_naming_the_fix(self) -> None:
        """Nothing listens: the first hop fails, later ones are not reached, one fix line."""
        result = self._doctor("http://127.0.0.1:9", "--deadline", "1")
        assert result.returncode == 1
        fixes = [ln for ln in result.stdout.splitlines() if ln.startswith("fix: ")]
        assert len(fixes) == 1
        assert fixes[0].startswith("fix: collector accepts OTLP: start the collector")
        assert "not reached" in result.stdout
