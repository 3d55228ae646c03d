"""Grafana-managed alerting: the provisioning file is what Grafana's loader accepts, and it
carries the same alerts and thresholds as the Prometheus rules."""

from __future__ import annotations

import re
from typing import Any

from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.rules import alerts, inline

NO_DATA = {"Alerting", "NoData", "OK", "KeepLast"}
EXEC_ERR = {"Alerting", "Error", "OK", "KeepLast"}
DURATION = re.compile(r"^(\d+[smhdwy])+$")


def _rules(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in doc["groups"] for r in g["rules"]]


def test_file_shape_matches_grafana_provisioning(alert_provisioning: dict[str, Any]) -> None:
    """apiVersion 1; groups with orgId, name, folder, interval; flat rules (not the ruler API
    shape grafanalib emits) with the fields Grafana's AlertRuleV1 requires."""
    assert alert_provisioning["apiVersion"] == 1
    for group in alert_provisioning["groups"]:
        assert group["orgId"] == 1 and group["name"] and group["folder"] == "chunkscope"
        assert DURATION.match(group["interval"])
        for rule in group["rules"]:
            assert "grafana_alert" not in rule
            assert rule["uid"] and len(rule["uid"]) <= 40
            assert rule["title"] and rule["data"]
            assert rule["noDataState"] in NO_DATA
            assert rule["execErrState"] in EXEC_ERR
            assert DURATION.match(rule["for"])
            ref_ids = [q["refId"] for q in rule["data"]]
            assert rule["condition"] in ref_ids
            for q in rule["data"]:
                assert q["datasourceUid"] in {DEFAULT.prometheus_datasource_uid, "__expr__"}
                assert q["model"]["refId"] == q["refId"]
                if q["datasourceUid"] == "__expr__":
                    assert q["model"]["expression"] in ref_ids


def test_uids_and_titles_unique(alert_provisioning: dict[str, Any]) -> None:
    """Grafana refuses duplicate uids and duplicate titles within a folder."""
    rules = _rules(alert_provisioning)
    assert len({r["uid"] for r in rules}) == len(rules)
    assert len({r["title"] for r in rules}) == len(rules)


def test_no_dollar_in_annotations(alert_provisioning: dict[str, Any]) -> None:
    """Provisioning expands $VAR from the environment; Grafana templates use .Labels instead."""
    for rule in _rules(alert_provisioning):
        for value in rule["annotations"].values():
            assert "$" not in value, value
        assert "{{ .Labels.job }}" in rule["annotations"]["description"] or (
            "{{ .Labels.instance }}" in rule["annotations"]["description"]
        )


def test_same_alerts_and_thresholds_as_prometheus(alert_provisioning: dict[str, Any]) -> None:
    """Every Prometheus alert has a Grafana twin with the same severity, for, runbook and
    conditions (every one, with its threshold), and its query needs no recording rule."""
    rules = {r["title"]: r for r in _rules(alert_provisioning)}
    assert len(rules) == len(alerts(DEFAULT))
    for a in alerts(DEFAULT):
        r = rules[f"{a.name} ({a.severity})"]
        assert r["labels"]["severity"] == a.severity
        assert r["for"] == a.for_
        assert r["annotations"]["runbook_url"] == DEFAULT.runbook_url(a.name)
        expr = next(q for q in r["data"] if q["refId"] == "A")["model"]["expr"]
        assert not re.search(r"\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b", expr), expr
        first, *rest = a.conditions
        # Every further condition (a burn rate's second window) filters A with its own
        # comparison and threshold; the first one's threshold is evaluated by C.
        parts = [inline(first.lhs, DEFAULT), *(inline(c.promql(), DEFAULT) for c in rest)]
        assert expr == (" and ".join(f"({p})" for p in parts) if rest else parts[0]), a.name
        threshold = next(q for q in r["data"] if q["refId"] == "C")["model"]["conditions"][0]
        params = threshold["evaluator"]["params"]
        if first.op == "==":
            assert threshold["evaluator"]["type"] == "within_range"
            assert params[0] < first.threshold < params[1]
        else:
            assert threshold["evaluator"]["type"] == {">": "gt", "<": "lt"}[first.op]
            assert params == [first.threshold]
