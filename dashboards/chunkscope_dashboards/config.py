"""The dashboards' view of the thresholds config: ``chunkscope.config`` is its one home.

Every dashboard, rule and alert module takes a :class:`Config`; the numbers themselves live
in ``chunkscope/config.py`` so that the runtime (``bench``, ``loadtest``) reads the same
ones without importing grafanalib.
"""

from __future__ import annotations

from chunkscope.config import CHANNELS, DEFAULT, Config, ConfigError, load_config

__all__ = ["CHANNELS", "DEFAULT", "Config", "ConfigError", "load_config"]
