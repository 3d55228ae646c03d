"""The generator: committed files are fresh, output is deterministic, the CLI and config work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from chunkscope_dashboards.config import DEFAULT, ConfigError, load_config
from chunkscope_dashboards.generate import ALERTING_DIR, DASHBOARD_DIR, RULES_DIR, render

EXPECTED_DASHBOARDS = {
    "chunkscope-overview.json": "chunkscope / Overview",
    "chunkscope-languages.json": "chunkscope / Languages",
    "chunkscope-resources.json": "chunkscope / Resources",
    "chunkscope-logs-traces.json": "chunkscope / Logs and traces",
    "chunkscope-pipeline.json": "chunkscope / Telemetry pipeline",
}


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chunkscope", "dashboards", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


class TestCommittedFiles:
    def test_committed_files_are_not_stale(self, tmp_path: Path, repo: Path) -> None:
        """Regenerating with the CLI reproduces every committed file byte for byte."""
        result = _cli("generate", "--out", str(tmp_path))
        assert result.returncode == 0, result.stderr
        generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
        assert generated, "the generator wrote nothing"
        stale = [
            str(rel)
            for rel in generated
            if not (repo / rel).is_file()
            or (repo / rel).read_bytes() != (tmp_path / rel).read_bytes()
        ]
        assert not stale, f"stale or missing, run `chunkscope dashboards generate`: {stale}"

    def test_no_orphaned_generated_files(self, repo: Path, rendered: dict[Path, str]) -> None:
        """Every file in the generated folders is one the generator writes (no leftovers)."""
        for folder in (DASHBOARD_DIR, RULES_DIR, ALERTING_DIR):
            on_disk = {p.relative_to(repo) for p in (repo / folder).iterdir() if p.is_file()}
            assert on_disk == {p for p in rendered if p.parent == folder}

    def test_all_dashboards_exist_with_titles(self, dashboards: dict[str, dict]) -> None:
        """The five dashboards are generated with stable, unique uids."""
        assert {n: d["title"] for n, d in dashboards.items()} == EXPECTED_DASHBOARDS
        uids = [d["uid"] for d in dashboards.values()]
        assert len(set(uids)) == len(uids)
        assert all(u.startswith("chunkscope-") and len(u) <= 40 for u in uids)


class TestDeterminism:
    def test_render_twice_is_identical(self) -> None:
        """Two renders in one process give the same bytes (no ids from counters or time)."""
        assert render(DEFAULT) == render(DEFAULT)

    def test_json_is_sorted_and_panel_ids_unique(self, rendered: dict[Path, str]) -> None:
        """Dashboard JSON has sorted keys and unique panel ids laid out on the 24-column grid."""
        for path, text in rendered.items():
            if path.suffix != ".json":
                continue
            data = json.loads(text)
            assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
            ids = [p["id"] for p in data["panels"]]
            assert len(ids) == len(set(ids)), path
            for p in data["panels"]:
                assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, (path, p["title"])


class TestConfig:
    def test_override_from_yaml_changes_rules_and_dashboards(self, tmp_path: Path) -> None:
        """One threshold in a config file moves the alert, the Grafana alert and the panel line."""
        cfg_file = tmp_path / "thresholds.yaml"
        cfg_file.write_text("parse_p95_budget_seconds: 0.75\nmemory_budget_bytes: 2147483648\n")
        out = tmp_path / "out"
        result = _cli("generate", "--config", str(cfg_file), "--out", str(out))
        assert result.returncode == 0, result.stderr
        alerts = (out / RULES_DIR / "chunkscope.alerts.yml").read_text()
        assert "job_language:chunkscope_parse_duration_seconds:p95_5m > 0.75" in alerts
        assert "job_instance:process_memory_usage_bytes:max > 2147483648" in alerts
        grafana = (out / ALERTING_DIR / "chunkscope-alerts.yaml").read_text()
        assert "- 0.75" in grafana
        langs = json.loads((out / DASHBOARD_DIR / "chunkscope-languages.json").read_text())
        steps = [
            s["value"]
            for p in langs["panels"]
            if p["title"] == "Parse p95 per language"
            for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]
        ]
        assert 0.75 in steps

    def test_json_config_and_list_fields(self, tmp_path: Path) -> None:
        """JSON works too, ints coerce to floats, lists become the burn-rate tuples."""
        f = tmp_path / "c.json"
        f.write_text(json.dumps({"error_ratio_warning": 1, "slo_burn_page": ["2h", "10m", 10]}))
        cfg = load_config(f)
        assert cfg.error_ratio_warning == 1.0
        assert cfg.slo_burn_page == ("2h", "10m", 10.0)

    @pytest.mark.parametrize(
        "content, message",
        [
            ("no_such_threshold: 1\n", "unknown fields no_such_threshold"),
            ("memory_budget_bytes: lots\n", "memory_budget_bytes: expected int"),
            ("- 1\n", "expected a mapping"),
        ],
    )
    def test_bad_config_is_refused(self, tmp_path: Path, content: str, message: str) -> None:
        """A typo in a config file is an error, not a silently ignored threshold."""
        f = tmp_path / "bad.yaml"
        f.write_text(content)
        with pytest.raises(ConfigError, match=message):
            load_config(f)

    def test_cli_reports_bad_config(self, tmp_path: Path) -> None:
        """The CLI exits 2 with one line, not a traceback."""
        f = tmp_path / "bad.yaml"
        f.write_text("nope: 1\n")
        result = _cli("generate", "--config", str(f), "--out", str(tmp_path))
        assert result.returncode == 2
        assert "unknown fields nope" in result.stderr
        assert "Traceback" not in result.stderr

    def test_benchmark_budgets_are_in_the_config(self) -> None:
        """``chunkscope bench``'s regression check reads its tolerances from the same config."""
        assert DEFAULT.bench_throughput_drop_pct > 0
        assert DEFAULT.bench_p95_rise_pct > 0
