"""Where alerts go: Alertmanager's config and Grafana's contact points, from the rules' config.

The same :class:`~chunkscope_dashboards.config.Config` that sets the alert thresholds sets the
delivery, so the two cannot drift: every alert the rules define carries a ``severity`` of
``warning`` or ``critical`` and a ``job``, and the routing here is built on exactly those.

* one route per severity, each grouped by ``alertname`` and ``job`` (one notification per
  alert and service, not one per instance or language);
* ``warning`` is inhibited by ``critical`` of the same alert and job: the error ratio crossing
  25 % pages once, not twice;
* the webhook receives everything, resolved alerts included; Slack, email and PagerDuty join
  when ``alert_channels`` names them (critical pages PagerDuty; Slack and email get both
  severities). Their secrets are read from files in ``alert_secrets_dir``
  (``api_url_file``, ``auth_password_file``, ``routing_key_file``; Grafana's ``$__file{}``),
  which compose fills from environment variables and k8s from a Secret: none is in the repo.

>>> from chunkscope_dashboards.config import DEFAULT
>>> cfg = alertmanager_config(DEFAULT)
>>> [r["receiver"] for r in cfg["route"]["routes"]]
['chunkscope-critical', 'chunkscope-warning']
"""

from __future__ import annotations

from typing import Any

from .config import Config
from .rules import alerts

__all__ = [
    "GROUP_BY",
    "SECRET_FILES",
    "SEVERITIES",
    "alertmanager_config",
    "grafana_notifications",
]

GROUP_BY = ("alertname", "job")
SEVERITIES = ("critical", "warning")
DEFAULT_RECEIVER = "chunkscope-webhook"
SECRET_FILES = {
    "slack": "slack_api_url",
    "email": "email_password",
    "pagerduty": "pagerduty_routing_key",
}
"""Channel -> the file in ``alert_secrets_dir`` that holds its secret."""

_SEVERITY_CHANNELS = {"critical": ("pagerduty", "slack", "email"), "warning": ("slack", "email")}


def _receiver(severity: str) -> str:
    return f"chunkscope-{severity}"


def _secret(cfg: Config, channel: str) -> str:
    return f"{cfg.alert_secrets_dir.rstrip('/')}/{SECRET_FILES[channel]}"


def _am_channel(cfg: Config, channel: str) -> tuple[str, dict[str, Any]]:
    if channel == "slack":
        return "slack_configs", {
            "api_url_file": _secret(cfg, channel),
            "channel": cfg.alert_slack_channel,
            "send_resolved": True,
            "title": "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
            "text": "{{ range .Alerts }}{{ .Annotations.summary }} {{ .Annotations.runbook_url }}\n"
            "{{ end }}",
        }
    if channel == "email":
        return "email_configs", {
            "to": cfg.alert_email_to,
            "from": cfg.alert_email_from,
            "smarthost": cfg.alert_email_smarthost,
            "auth_username": cfg.alert_email_username,
            "auth_password_file": _secret(cfg, channel),
            "send_resolved": True,
        }
    return "pagerduty_configs", {
        "routing_key_file": _secret(cfg, channel),
        "send_resolved": True,
    }


def _webhook() -> dict[str, Any]:
    return {"send_resolved": True, "max_alerts": 0}


def alertmanager_config(cfg: Config) -> dict[str, Any]:
    """deploy/alertmanager/alertmanager.yml as data."""
    severities = sorted({a.severity for a in alerts(cfg)}, key=SEVERITIES.index)
    receivers: list[dict[str, Any]] = [
        {
            "name": DEFAULT_RECEIVER,
            "webhook_configs": [{"url": cfg.alert_webhook_url, **_webhook()}],
        }
    ]
    for severity in severities:
        receiver: dict[str, Any] = {
            "name": _receiver(severity),
            "webhook_configs": [{"url": cfg.alert_webhook_url, **_webhook()}],
        }
        for channel in _SEVERITY_CHANNELS[severity]:
            if channel in cfg.channels:
                key, conf = _am_channel(cfg, channel)
                receiver.setdefault(key, []).append(conf)
        receivers.append(receiver)
    return {
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": list(GROUP_BY),
            "group_wait": cfg.alert_group_wait,
            "group_interval": cfg.alert_group_interval,
            "repeat_interval": cfg.alert_repeat_interval,
            "routes": [
                {"matchers": [f'severity="{s}"'], "receiver": _receiver(s)} for s in severities
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": list(GROUP_BY),
            }
        ],
        "receivers": receivers,
    }


def _grafana_channel(cfg: Config, channel: str, uid: str) -> dict[str, Any]:
    secret = f"$__file{{{_secret(cfg, channel)}}}"
    if channel == "slack":
        settings: dict[str, Any] = {"url": secret, "recipient": cfg.alert_slack_channel}
        kind = "slack"
    elif channel == "email":
        settings = {"addresses": cfg.alert_email_to, "singleEmail": True}
        kind = "email"
    else:
        settings = {"integrationKey": secret, "severity": "critical"}
        kind = "pagerduty"
    return {"uid": uid, "type": kind, "settings": settings, "disableResolveMessage": False}


def grafana_notifications(cfg: Config) -> dict[str, Any]:
    """Grafana alerting provisioning: the same receivers as contact points, the same routing
    as the notification policy tree, for the Grafana-managed twins of the alerts."""
    severities = sorted({a.severity for a in alerts(cfg)}, key=SEVERITIES.index)

    def webhook(uid: str) -> dict[str, Any]:
        return {
            "uid": uid,
            "type": "webhook",
            "settings": {"url": cfg.alert_webhook_url, "httpMethod": "POST"},
            "disableResolveMessage": False,
        }

    contact_points = [
        {"orgId": 1, "name": DEFAULT_RECEIVER, "receivers": [webhook("chunkscope-webhook")]}
    ]
    for severity in severities:
        integrations = [webhook(f"chunkscope-{severity}-webhook")]
        integrations += [
            _grafana_channel(cfg, channel, f"chunkscope-{severity}-{channel}")
            for channel in _SEVERITY_CHANNELS[severity]
            if channel in cfg.channels
        ]
        contact_points.append({"orgId": 1, "name": _receiver(severity), "receivers": integrations})
    return {
        "apiVersion": 1,
        "contactPoints": contact_points,
        "policies": [
            {
                "orgId": 1,
                "receiver": DEFAULT_RECEIVER,
                "group_by": list(GROUP_BY),
                "group_wait": cfg.alert_group_wait,
                "group_interval": cfg.alert_group_interval,
                "repeat_interval": cfg.alert_repeat_interval,
                "routes": [
                    {
                        "receiver": _receiver(s),
                        "object_matchers": [["severity", "=", s]],
                    }
                    for s in severities
                ],
            }
        ],
    }
