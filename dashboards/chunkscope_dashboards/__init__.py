"""chunkscope's Grafana dashboards and alert rules as code (grafanalib), from one config.

The tree is the architecture: ``config`` holds every threshold, budget, selector and
datasource; ``promql`` the shared query building blocks; ``panels`` and ``base`` the panel
and dashboard builders; one module per dashboard (``overview``, ``languages``,
``resources``, ``logs_traces``, ``pipeline``) with one function per row; ``rules`` the
Prometheus recording and alerting rules as data; ``alerting`` the same alerts as Grafana
provisioning; ``generate`` writes it all; ``queries`` lists every query for the tests.

    >>> from chunkscope_dashboards import DEFAULT, render
    >>> files = render(DEFAULT)
    >>> sorted(str(p) for p in files)[0]
    'deploy/grafana/dashboards/chunkscope-languages.json'

From the shell: ``chunkscope dashboards generate [--config FILE] [--out DIR]``.
"""

from __future__ import annotations

from .config import DEFAULT, Config, ConfigError, load_config
from .generate import generate, render
from .queries import all_logql, all_promql

__all__ = [
    "DEFAULT",
    "Config",
    "ConfigError",
    "all_logql",
    "all_promql",
    "generate",
    "load_config",
    "render",
]
