"""Dashboard lint in the spirit of grafana/dashboard-linter, on the generated JSON.

Rules (named as in dashboard-linter): template-datasource-rule, template-job-rule,
template-instance-rule, panel-datasource-rule, panel-title-description-rule,
panel-units-rule, target-rate-interval-rule, target-job-rule, target-instance-rule,
target-counter-agg-rule. Each rule is also run on a deliberately broken dashboard to prove it
can fail.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chunkscope_dashboards.queries import selectors

Dashboard = dict[str, Any]
VALID_UNITS = {
    "ops",
    "reqps",
    "Bps",
    "bytes",
    "s",
    "ms",
    "percentunit",
    "short",
    "none",
}
RANGE_FN = re.compile(r"\b(rate|irate|increase)\(([^\[]*)\[([^\]]+)\]")
DS_VARS = {
    "${datasource}",
    "${prometheus_datasource}",
    "${loki_datasource}",
    "${jaeger_datasource}",
}


def _panels(d: Dashboard) -> Iterator[dict[str, Any]]:
    for p in d["panels"]:
        if p["type"] != "row":
            yield p
        yield from (q for q in p.get("panels", []) if q["type"] != "row")


def _prom_targets(d: Dashboard) -> Iterator[tuple[str, str]]:
    for p in _panels(d):
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("type") == "prometheus":
                yield p["title"], t["expr"]


def template_datasource(d: Dashboard) -> list[str]:
    """A datasource variable; named `datasource` alone or `<type>_datasource` when several."""
    ds = [v for v in d["templating"]["list"] if v["type"] == "datasource"]
    if not ds:
        return ["no datasource template variable"]
    errors = []
    for v in ds:
        allowed = {f"{v['query']}_datasource"} | ({"datasource"} if len(ds) == 1 else set())
        if v["name"] not in allowed:
            errors.append(f"datasource variable {v['name']} should be one of {sorted(allowed)}")
    return errors


def _template_var(d: Dashboard, name: str) -> list[str]:
    v = next((v for v in d["templating"]["list"] if v["name"] == name), None)
    if v is None:
        return [f"missing the {name} template"]
    errors = []
    if v["type"] != "query":
        errors.append(f"{name} should be a query variable")
    if v["datasource"]["uid"] not in {"${datasource}", "${prometheus_datasource}"}:
        errors.append(f"{name} should use the datasource variable")
    if v["label"] != name.title():
        errors.append(f"{name} should be labelled {name.title()}")
    if not v["multi"] or not v["includeAll"] or v["allValue"] != ".+":
        errors.append(f"{name} should be multi-select with All = .+")
    return errors


def template_job(d: Dashboard) -> list[str]:
    return _template_var(d, "job")


def template_instance(d: Dashboard) -> list[str]:
    return _template_var(d, "instance")


def panel_datasource(d: Dashboard) -> list[str]:
    """Every panel and target uses a datasource template variable, never a fixed uid."""
    errors = []
    for p in _panels(d):
        if not p.get("datasource") or p["datasource"].get("uid") not in DS_VARS:
            errors.append(f"panel {p['title']!r} datasource {p.get('datasource')}")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") not in DS_VARS:
                errors.append(f"panel {p['title']!r} target {t.get('refId')} datasource")
    return errors


def panel_title_description(d: Dashboard) -> list[str]:
    return [
        f"panel {p.get('title')!r} lacks a title or description"
        for p in _panels(d)
        if not p.get("title") or not (p.get("description") or "").strip()
    ]


def panel_units(d: Dashboard) -> list[str]:
    return [
        f"panel {p['title']!r} unit {p['fieldConfig']['defaults'].get('unit')!r}"
        for p in _panels(d)
        if p["fieldConfig"]["defaults"].get("unit") not in VALID_UNITS
    ]


def target_rate_interval(d: Dashboard) -> list[str]:
    return [
        f"panel {title!r}: {fn}(...[{window}]) should use $__rate_interval"
        for title, expr in _prom_targets(d)
        for fn, _, window in RANGE_FN.findall(expr)
        if window != "$__rate_interval"
    ]


def _matcher_rule(d: Dashboard, matcher: str) -> list[str]:
    return [
        f"panel {title!r}: selector {name}{block or '{}'} lacks {matcher}"
        for title, expr in _prom_targets(d)
        for name, block in selectors(expr)
        if matcher not in block
    ]


def target_job(d: Dashboard) -> list[str]:
    return _matcher_rule(d, 'job=~"$job"')


def target_instance(d: Dashboard) -> list[str]:
    return _matcher_rule(d, 'instance=~"$instance"')


def target_counter_agg(d: Dashboard) -> list[str]:
    """Counters and histogram buckets are only read through rate/increase."""
    errors = []
    for title, expr in _prom_targets(d):
        for name, _ in selectors(expr):
            if re.search(r"_(total|bucket)$|_(seconds|bytes)_(count|sum)$", name):
                inside = re.search(rf"\b(rate|irate|increase)\(\s*{re.escape(name)}\b", expr)
                if not inside:
                    errors.append(f"panel {title!r}: counter {name} read without rate()")
    return errors


RULES: dict[str, Callable[[Dashboard], list[str]]] = {
    "template-datasource-rule": template_datasource,
    "template-job-rule": template_job,
    "template-instance-rule": template_instance,
    "panel-datasource-rule": panel_datasource,
    "panel-title-description-rule": panel_title_description,
    "panel-units-rule": panel_units,
    "target-rate-interval-rule": target_rate_interval,
    "target-job-rule": target_job,
    "target-instance-rule": target_instance,
    "target-counter-agg-rule": target_counter_agg,
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_generated_dashboards_pass(rule: str, dashboards: dict[str, Dashboard]) -> None:
    """Every generated dashboard passes the rule."""
    problems = {name: RULES[rule](d) for name, d in dashboards.items()}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


def _first_prom_panel(d: Dashboard) -> dict[str, Any]:
    return next(
        p
        for p in _panels(d)
        if p.get("targets") and p["targets"][0]["datasource"]["type"] == "prometheus"
    )


def _break(rule: str, d: Dashboard) -> None:
    panel = _first_prom_panel(d)
    target = panel["targets"][0]
    if rule == "template-datasource-rule":
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["type"] != "datasource"]
    elif rule in ("template-job-rule", "template-instance-rule"):
        name = rule.split("-")[1]
        next(v for v in d["templating"]["list"] if v["name"] == name)["allValue"] = None
    elif rule == "panel-datasource-rule":
        panel["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    elif rule == "panel-title-description-rule":
        panel["description"] = ""
    elif rule == "panel-units-rule":
        panel["fieldConfig"]["defaults"]["unit"] = ""
    elif rule == "target-rate-interval-rule":
        target["expr"] = 'sum(rate(chunkscope_files_total{job=~"$job", instance=~"$instance"}[5m]))'
    elif rule == "target-job-rule":
        target["expr"] = target["expr"].replace('job=~"$job", ', "")
    elif rule == "target-instance-rule":
        target["expr"] = target["expr"].replace('instance=~"$instance"', 'instance!=""')
    elif rule == "target-counter-agg-rule":
        target["expr"] = 'sum(chunkscope_files_total{job=~"$job", instance=~"$instance"})'


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_rejects_a_broken_dashboard(rule: str, dashboards: dict[str, Dashboard]) -> None:
    """The rule reports a dashboard broken in exactly the way it checks for."""
    broken = copy.deepcopy(dashboards["chunkscope-overview.json"])
    _break(rule, broken)
    assert RULES[rule](broken), f"{rule} did not notice"


def test_exemplars_on_latency_panels(dashboards: dict[str, Dashboard]) -> None:
    """Latency graphs (unit seconds, quantiles) request exemplars so dots open traces."""
    for name, d in dashboards.items():
        for p in _panels(d):
            targets = p.get("targets", [])
            if p["type"] != "timeseries":
                continue
            if p["fieldConfig"]["defaults"].get("unit") == "s" and any(
                "histogram_quantile" in t.get("expr", "") for t in targets
            ):
                assert all(t["exemplar"] for t in targets), (name, p["title"])


def test_overview_has_service_red_and_saturation(dashboards: dict[str, Dashboard]) -> None:
    """The Overview's Service row covers rate, errors, duration, queue depth and shedding."""
    exprs = " ".join(e for _, e in _prom_targets(dashboards["chunkscope-overview.json"]))
    for metric in (
        "http_server_request_duration_seconds_count",
        "http_server_request_duration_seconds_bucket",
        'http_response_status_code=~"5.."',
        "chunkscope_serve_queue_depth",
        "chunkscope_serve_shed_total",
    ):
        assert metric in exprs
