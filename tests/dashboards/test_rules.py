"""Prometheus rules: promtool validates them and its unit tests cover every alert."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.rules import alerts, recording_rules

PROMTOOL_TESTS = Path(__file__).parent / "promtool"


def _unit_tests() -> list[Path]:
    files = sorted(PROMTOOL_TESTS.glob("*_test.yml"))
    assert files
    return files


def test_promtool_check_rules(promtool: str, rule_files: list[Path]) -> None:
    """Every generated rule file passes `promtool check rules` (syntax, PromQL, duplicates)."""
    for path in rule_files:
        result = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    """The alert unit tests pass against the committed rule files."""
    result = subprocess.run(
        [promtool, "test", "rules", *map(str, _unit_tests())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(promtool: str, tmp_path: Path, repo: Path) -> None:
    """A wrong expectation makes promtool fail, so the suite above really checks something."""
    src = PROMTOOL_TESTS / "chunker_alerts_test.yml"
    broken = src.read_text().replace("9.091% of files", "1.000% of files", 1)
    assert broken != src.read_text()
    shutil.copytree(repo / "deploy" / "prometheus" / "rules", tmp_path / "deploy/prometheus/rules")
    (tmp_path / "tests/dashboards/promtool").mkdir(parents=True)
    target = tmp_path / "tests/dashboards/promtool" / src.name
    target.write_text(broken)
    result = subprocess.run(
        [promtool, "test", "rules", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ChunkscopeHighErrorRatio" in result.stdout + result.stderr


def test_every_alert_has_firing_and_silent_cases() -> None:
    """Each alert and severity is expected to fire somewhere, with labels and annotations,
    and is expected silent in at least two cases (healthy and flapping)."""
    firing: set[tuple[str, str]] = set()
    silent: dict[str, int] = {}
    for path in _unit_tests():
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case["exp_alerts"]:
                    for exp in case["exp_alerts"]:
                        assert exp["exp_annotations"]["summary"]
                        assert exp["exp_annotations"]["description"]
                        assert exp["exp_annotations"]["runbook_url"]
                        firing.add((case["alertname"], exp["exp_labels"]["severity"]))
                else:
                    silent[case["alertname"]] = silent.get(case["alertname"], 0) + 1
    wanted = {(a.name, a.severity) for a in alerts(DEFAULT)}
    assert wanted <= firing, f"never tested firing: {sorted(wanted - firing)}"
    assert all(silent.get(a.name, 0) >= 2 for a in alerts(DEFAULT)), silent


def test_alert_style() -> None:
    """Mixin style: CamelCase Chunkscope* names, warning/critical, summary, description,
    runbook anchor; recording rules named level:metric:operation."""
    for a in alerts(DEFAULT):
        assert re.fullmatch(r"Chunkscope[A-Z][A-Za-z]+", a.name)
        assert a.severity in {"warning", "critical"}
        assert a.summary.endswith(".") and "{{" in a.description
    for r in recording_rules(DEFAULT):
        assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", r.record), r.record


def test_runbook_has_a_section_per_alert(repo: Path) -> None:
    """docs/runbook.md has the anchor each runbook_url points at, with the four parts."""
    text = (repo / "docs" / "runbook.md").read_text()
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-"): i
        for i, h in enumerate(re.findall(r"^## (.+)$", text, flags=re.M))
    }
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    for a in alerts(DEFAULT):
        url = DEFAULT.runbook_url(a.name)
        anchor = url.split("#", 1)[1]
        assert anchor in headings, f"{a.name}: no '## {a.name}' section for {url}"
        body = sections[headings[anchor]]
        for part in ("Meaning", "Impact", "Diagnosis", "Fix"):
            assert f"**{part}**" in body, f"{a.name}: runbook section lacks {part}"
