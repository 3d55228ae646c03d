"""Alert delivery: Alertmanager's generated config passes amtool and routes as documented, and
Grafana's contact points and notification policy mirror it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chunkscope_dashboards.alertmanager import (
    GROUP_BY,
    SECRET_FILES,
    alertmanager_config,
    grafana_notifications,
)
from chunkscope_dashboards.config import DEFAULT, Config, ConfigError, load_config
from chunkscope_dashboards.generate import ALERTING_DIR, ALERTMANAGER_DIR, to_yaml
from chunkscope_dashboards.rules import alerts

AM_FILE = ALERTMANAGER_DIR / "alertmanager.yml"
ALL_CHANNELS = dataclasses.replace(DEFAULT, alert_channels="slack,email,pagerduty")


def check_config(amtool: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60
    )


def route(amtool: str, path: Path, *labels: str) -> str:
    """The receiver(s) amtool's offline router picks for an alert with ``labels``."""
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={path}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def all_channels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    path.write_text(to_yaml(alertmanager_config(ALL_CHANNELS)))
    return path


class TestAmtool:
    def test_committed_config_passes_check_config(self, amtool: str, repo: Path) -> None:
        result = check_config(amtool, repo / AM_FILE)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 inhibit rules" in result.stdout

    def test_config_with_every_channel_passes(self, amtool: str, all_channels_file: Path) -> None:
        """Slack, email and PagerDuty receivers, secrets read from files, are valid too."""
        result = check_config(amtool, all_channels_file)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_a_planted_error_fails_check_config(self, amtool: str, tmp_path: Path) -> None:
        """A route to a receiver that does not exist is refused: the check can fail."""
        data = alertmanager_config(DEFAULT)
        data["route"]["routes"][0]["receiver"] = "chunkscope-nowhere"
        bad = tmp_path / "bad.yml"
        bad.write_text(to_yaml(data))
        result = check_config(amtool, bad)
        assert result.returncode != 0
        assert "chunkscope-nowhere" in result.stdout + result.stderr

    @pytest.mark.parametrize(
        "labels, receiver",
        [
            (("severity=critical",), "chunkscope-critical"),
            (("severity=warning",), "chunkscope-warning"),
            ((), "chunkscope-webhook"),
            (("severity=info",), "chunkscope-webhook"),
        ],
    )
    def test_routes_by_severity(
        self, amtool: str, repo: Path, labels: tuple[str, ...], receiver: str
    ) -> None:
        """Each severity reaches its receiver; anything else falls back to the webhook."""
        labels = ("alertname=ChunkscopeHighErrorRatio", "job=chunkscope", *labels)
        assert route(amtool, repo / AM_FILE, *labels) == receiver

    def test_every_rule_severity_has_a_route(self, amtool: str, repo: Path) -> None:
        """No alert the rules define falls through to the default receiver."""
        for alert in alerts(DEFAULT):
            got = route(
                amtool, repo / AM_FILE, f"alertname={alert.name}", f"severity={alert.severity}"
            )
            assert got == f"chunkscope-{alert.severity}", alert.name


class TestRouting:
    def test_grouping_and_inhibition(self) -> None:
        """Grouped by alertname and job; a critical silences the warning of the same alert."""
        data = alertmanager_config(DEFAULT)
        assert data["route"]["group_by"] == ["alertname", "job"]
        assert data["inhibit_rules"] == [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "job"],
            }
        ]

    def test_webhook_is_default_and_in_every_receiver(self) -> None:
        data = alertmanager_config(DEFAULT)
        assert data["route"]["receiver"] == "chunkscope-webhook"
        for receiver in data["receivers"]:
            [hook] = receiver["webhook_configs"]
            assert hook == {
                "url": DEFAULT.alert_webhook_url,
                "send_resolved": True,
                "max_alerts": 0,
            }

    def test_channels_read_secrets_from_files(self) -> None:
        """Critical pages PagerDuty, both severities reach Slack and email; every secret is a
        path under alert_secrets_dir, never a value."""
        by_name = {r["name"]: r for r in alertmanager_config(ALL_CHANNELS)["receivers"]}
        critical, warning = by_name["chunkscope-critical"], by_name["chunkscope-warning"]
        secrets = DEFAULT.alert_secrets_dir
        assert critical["pagerduty_configs"] == [
            {"routing_key_file": f"{secrets}/pagerduty_routing_key", "send_resolved": True}
        ]
        assert "pagerduty_configs" not in warning
        for receiver in (critical, warning):
            assert receiver["slack_configs"][0]["api_url_file"] == f"{secrets}/slack_api_url"
            assert receiver["email_configs"][0]["auth_password_file"] == f"{secrets}/email_password"

    def test_unknown_channel_is_a_config_error(self, tmp_path: Path) -> None:
        f = tmp_path / "c.yaml"
        f.write_text("alert_channels: slack,teams\n")
        with pytest.raises(ConfigError, match="alert_channels: unknown teams"):
            load_config(f)


class TestRunbookUrls:
    def test_runbook_urls_are_absolute(self, rule_files: list[Path]) -> None:
        """Every alert's runbook_url opens from Alertmanager, Slack or Grafana: absolute."""
        urls = re.findall(r"runbook_url: (\S+)", "".join(p.read_text() for p in rule_files))
        assert urls
        assert all(u.startswith(DEFAULT.runbook_base_url + "#") for u in urls)
        assert DEFAULT.runbook_base_url.startswith("https://")

    def test_relative_base_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="runbook_base_url: must be an absolute"):
            Config(runbook_base_url="docs/runbook.md")


class TestGrafanaNotifications:
    def test_contact_points_mirror_alertmanager_receivers(self, repo: Path) -> None:
        am = yaml.safe_load((repo / AM_FILE).read_text())
        grafana = yaml.safe_load(
            (repo / ALERTING_DIR / "chunkscope-notifications.yaml").read_text()
        )
        assert [c["name"] for c in grafana["contactPoints"]] == [r["name"] for r in am["receivers"]]
        [policy] = grafana["policies"]
        assert policy["receiver"] == am["route"]["receiver"]
        assert policy["group_by"] == list(GROUP_BY)
        assert [(r["receiver"], r["object_matchers"]) for r in policy["routes"]] == [
            (r["receiver"], [["severity", "=", r["matchers"][0].split('"')[1]]])
            for r in am["route"]["routes"]
        ]

    def test_grafana_secrets_come_from_files(self) -> None:
        data: dict[str, Any] = grafana_notifications(ALL_CHANNELS)
        settings = [
            i["settings"]
            for c in data["contactPoints"]
            for i in c["receivers"]
            if i["type"] != "webhook"
        ]
        slack = next(s for s in settings if "recipient" in s)
        assert slack["url"] == f"$__file{{{DEFAULT.alert_secrets_dir}/{SECRET_FILES['slack']}}}"
        pager = next(s for s in settings if "integrationKey" in s)
        assert pager["integrationKey"].startswith("$__file{")
