"""The Prometheus alerts again, as Grafana-managed alert rules for file provisioning.

Built with grafanalib's ``AlertGroup``/``AlertRulev9``/``AlertFileBasedProvisioning``. What
grafanalib 0.7.1 emits is the *ruler API* shape (``grafana_alert: {title, condition, data,
no_data_state, ...}``), which Grafana's provisioning loader does not read: it wants each rule
flat (``uid``, ``title``, ``condition``, ``data``, ``noDataState``, ``execErrState``, ``for``,
``annotations``, ``labels``; see Grafana's ``AlertRuleV1``). :func:`provisioning` converts.
Two more fixes: grafanalib's ``ALERTRULE_STATE_DATA_NODATA`` is ``"No Data"`` where Grafana
expects ``NoData`` (we use ``OK``: no series means healthy for these queries), and its
expression types lack ``threshold`` (added by :class:`Threshold`), which keeps ``$`` out of
the file: provisioning expands ``$VAR`` from the environment in annotations.

Each rule evaluates: A = the alert's PromQL with recording rules inlined and the extra
conditions kept as filters, B = last value of A per series, C = B compared with the first
condition's threshold.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import attr
from grafanalib import core as g

from .config import Config
from .rules import Alert, alerts, inline

__all__ = ["Threshold", "grafana_rule", "provisioning"]

_OPS = {">": "gt", "<": "lt"}


@attr.s
class Threshold(g.AlertExpression):
    """Grafana's ``threshold`` server-side expression (Grafana 10+), absent from grafanalib."""

    evaluator: str = attr.ib(default="gt")
    params: list[float] = attr.ib(factory=list)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasourceUid": "__expr__",
            "model": {
                "conditions": [{"evaluator": {"params": self.params, "type": self.evaluator}}],
                "datasource": {"type": "__expr__", "uid": "__expr__"},
                "expression": self.expression,
                "refId": self.refId,
                "type": "threshold",
            },
            "refId": self.refId,
            "relativeTimeRange": {"from": 0, "to": 0},
        }


def _uid(alert: Alert) -> str:
    """Stable, unique, at most 40 characters (Grafana's uid limit)."""
    digest = hashlib.sha1(f"{alert.name}/{alert.severity}".encode()).hexdigest()[:8]
    return f"{alert.name.lower()[:28]}-{alert.severity[:1]}{digest}"[:40]


def _grafana_template(text: str) -> str:
    """Prometheus annotation templates -> Grafana's, without any ``$``.

    ``$labels.x`` becomes ``.Labels.x``; ``$value`` (with any formatting pipeline) becomes the
    reduced value ``.Values.B``.
    """
    text = re.sub(r"\{\{\s*\$value\s*(\|[^}]*)?\}\}", "{{ .Values.B }}", text)
    return text.replace("$labels.", ".Labels.")


def _query(alert: Alert, cfg: Config) -> str:
    first, *rest = alert.conditions
    parts = [inline(first.lhs, cfg)] + [inline(c.promql(), cfg) for c in rest]
    return parts[0] if not rest else " and ".join(f"({p})" for p in parts)


def grafana_rule(alert: Alert, cfg: Config) -> g.AlertRulev9:
    first = alert.conditions[0]
    if first.op == "==":
        evaluator, params = "within_range", [first.threshold - 1e-9, first.threshold + 1e-9]
    else:
        evaluator, params = _OPS[first.op], [first.threshold]
    return g.AlertRulev9(
        title=f"{alert.name} ({alert.severity})",
        uid=_uid(alert),
        condition="C",
        triggers=[
            g.Target(
                expr=_query(alert, cfg),
                refId="A",
                datasource=cfg.prometheus_datasource_uid,
                instant=True,
            ),
            g.AlertExpression(
                refId="B",
                expression="A",
                expressionType=g.EXP_TYPE_REDUCE,
                reduceFunction=g.EXP_REDUCER_FUNC_LAST,
                reduceMode=g.EXP_REDUCER_FUNC_DROP_NN,
            ),
            Threshold(refId="C", expression="B", evaluator=evaluator, params=params),
        ],
        annotations={
            "description": _grafana_template(alert.description),
            "runbook_url": cfg.runbook_url(alert.name),
            "summary": alert.summary,
        },
        labels={"severity": alert.severity, **alert.labels},
        evaluateFor=alert.for_,
        noDataAlertState=g.ALERTRULE_STATE_DATA_OK,
        errorAlertState=g.ALERTRULE_STATE_DATA_ERROR,
        timeRangeFrom=21600,
        timeRangeTo=0,
    )


def _flatten(rule: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """grafanalib's ruler-API rule -> Grafana's file-provisioning rule (``AlertRuleV1``)."""
    ga = rule["grafana_alert"]
    data = []
    for query in ga["data"]:
        query = dict(query)
        if query.get("datasourceUid") == "-100":
            query["datasourceUid"] = "__expr__"
            query["model"] = {
                **query["model"],
                "datasource": {"type": "__expr__", "uid": "__expr__"},
            }
        elif query["refId"] == "A":
            model = query["model"]
            query["model"] = {
                "datasource": {"type": "prometheus", "uid": cfg.prometheus_datasource_uid},
                "editorMode": "code",
                "expr": model["expr"],
                "instant": True,
                "intervalMs": 60000,
                "maxDataPoints": 43200,
                "range": False,
                "refId": "A",
            }
        query.setdefault("queryType", "")
        data.append(query)
    return {
        "annotations": rule["annotations"],
        "condition": ga["condition"],
        "data": data,
        "execErrState": ga["exec_err_state"],
        "for": rule["for"],
        "isPaused": False,
        "labels": rule["labels"],
        "noDataState": ga["no_data_state"],
        "title": ga["title"],
        "uid": rule["uid"],
    }


def provisioning(cfg: Config) -> dict[str, Any]:
    """The content of deploy/grafana/provisioning/alerting/chunkscope-alerts.yaml."""
    by_group: dict[str, list[g.AlertRulev9]] = {}
    for alert in alerts(cfg):
        by_group.setdefault(alert.group, []).append(grafana_rule(alert, cfg))
    groups = [
        g.AlertGroup(
            name=name,
            rules=rules,
            folder=cfg.grafana_alert_folder,
            evaluateInterval=cfg.evaluation_interval,
        )
        for name, rules in by_group.items()
    ]
    emitted = g.AlertFileBasedProvisioning(groups=groups).to_json_data()
    out_groups = []
    for group in emitted["groups"]:
        group = group.to_json_data()
        out_groups.append(
            {
                "folder": group["folder"],
                "interval": group["interval"],
                "name": group["name"],
                "orgId": 1,
                "rules": [_flatten(r, cfg) for r in group["rules"]],
            }
        )
    return {"apiVersion": emitted["apiVersion"], "groups": out_groups}
