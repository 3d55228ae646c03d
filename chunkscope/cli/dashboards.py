"""``chunkscope dashboards generate``: write the Grafana dashboards and alert rules.

grafanalib and PyYAML (the ``dashboards`` extra) are imported only when the command runs, so
``chunkscope chunk`` never pays for them::

    chunkscope dashboards generate                       # into the source checkout
    chunkscope dashboards generate --config mine.yaml --out /tmp/stack

Writes ``deploy/grafana/dashboards/*.json``, ``deploy/prometheus/rules/*.yml`` and
``deploy/grafana/provisioning/alerting/*.yaml`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _default_out() -> Path:
    """The source checkout holding the dashboards package, else the working directory."""
    try:
        import chunkscope_dashboards
    except ImportError:
        return Path.cwd()
    root = Path(chunkscope_dashboards.__file__).resolve().parents[2]
    return (
        root if (root / "pyproject.toml").is_file() and (root / "deploy").is_dir() else Path.cwd()
    )


def _generate(args: argparse.Namespace) -> int:
    try:
        from chunkscope_dashboards.config import ConfigError, load_config
        from chunkscope_dashboards.generate import generate
    except ImportError as exc:
        print(
            f"chunkscope dashboards: {exc.name or exc} is missing; "
            "install the extra: pip install 'chunkscope[dashboards]'",
            file=sys.stderr,
        )
        return 1
    try:
        cfg = load_config(args.config)
    except (OSError, ConfigError) as exc:
        print(f"chunkscope dashboards: {exc}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else _default_out()
    for path in generate(cfg, out):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dashboards`` (with its ``generate`` action) to the command line."""
    p = sub.add_parser(
        "dashboards",
        help="generate Grafana dashboards, Prometheus rules and Grafana alerting",
        description="Dashboards and alert rules as code, from one config of thresholds.",
    )
    actions = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    gen = actions.add_parser(
        "generate",
        help="write deploy/grafana/dashboards, deploy/prometheus/rules and alert provisioning",
        description="Write every generated file; output is byte-identical for the same config.",
    )
    gen.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="YAML or JSON file overriding thresholds, selectors and datasource uids",
    )
    gen.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="root to write deploy/... under (default: the source checkout)",
    )
    gen.set_defaults(func=_generate)
