"""Every LogQL expression parses with Grafana's own LogQL grammar (@grafana/lezer-logql)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.queries import all_logql


def _parse(script: Path, queries: list[str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["node", str(script)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_every_logql_parses(logql_parser: Path) -> None:
    """No error node in the parse tree of any dashboard LogQL."""
    queries = all_logql(DEFAULT)
    assert len(queries) >= 3
    results = _parse(logql_parser, [q for _, q in queries])
    bad = {w: r["errors"] for (w, _), r in zip(queries, results, strict=True) if not r["ok"]}
    assert not bad
    for r in results:
        assert r["tree"].startswith("LogQL(Expr(")


def test_broken_logql_is_rejected(logql_parser: Path) -> None:
    """The check can fail: malformed queries produce error nodes."""
    broken = [
        '{service_name="chunkscope"} |= ',
        'sum by (level) (count_over_time({service_name="x"}))',
        '{service_name="chunkscope" | json',
    ]
    results = _parse(logql_parser, broken)
    assert [r["ok"] for r in results] == [False, False, False]


def test_logs_query_filters_by_service_and_level() -> None:
    """The logs panel selects the service stream, never the doctor's probe, and filters on
    severity."""
    exprs = dict(all_logql(DEFAULT))
    lines = next(e for w, e in exprs.items() if "panel 'Logs'" in w)
    assert lines.startswith('{service_name=~"$service", service_name!="doctor-probe"}')
    assert all('service_name!="doctor-probe"' in e for e in exprs.values())
    assert 'severity_text=~"(?i)$level"' in lines
