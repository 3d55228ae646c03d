"""Template variables and the dashboard envelope every chunkscope dashboard shares.

Variables follow grafana/dashboard-linter's conventions: a ``datasource`` variable (named
``<type>_datasource`` when a dashboard has several), ``job`` and ``instance`` as multi-select
Prometheus queries with ``allValue: .+`` so every query can carry
``job=~"$job", instance=~"$instance"``.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib import core as g

from chunkscope import names as N

from .config import Config
from .panels import Row, layout
from .promql import matchers

__all__ = [
    "CHUNKER",
    "CHUNKER_LABEL",
    "JOB_INSTANCE",
    "JOB_INSTANCE_LANGUAGE",
    "JOB_INSTANCE_SELECTOR",
    "chunker_var",
    "dashboard",
    "datasource_var",
    "language_var",
    "query_var",
]

JOB_INSTANCE = ('job=~"$job"', 'instance=~"$instance"')
"""The matchers every dashboard PromQL selector carries."""
JOB_INSTANCE_SELECTOR = matchers(*JOB_INSTANCE)
"""``JOB_INSTANCE`` as a ready ``{...}`` selector, for queries written out in full."""

CHUNKER_LABEL = N.CHUNKER.replace(".", "_")
CHUNKER = f'{CHUNKER_LABEL}=~"$chunker"'
"""The matcher of the ``chunker`` variable: chunkscope, treesitter-chunker, or both."""
JOB_INSTANCE_LANGUAGE = (*JOB_INSTANCE, CHUNKER, 'chunkscope_language=~"$language"')
"""``JOB_INSTANCE`` plus the ``$chunker`` and ``$language`` variables, for the per-language
families on the dashboards that offer both variables (Overview, Languages)."""

SCHEMA_VERSION = 39


def datasource_var(kind: str, name: str, label: str) -> g.Template:
    return g.Template(
        name=name,
        label=label,
        query=kind,
        type="datasource",
        refresh=1,
        regex="",
        hide=0,
    )


def query_var(
    name: str,
    label: str,
    query: str,
    datasource: dict[str, str],
    *,
    multi: bool = True,
    regex: str = "",
) -> g.Template:
    """A multi-select variable whose "All" is ``.+`` (any value, never the empty label)."""
    return g.Template(
        name=name,
        label=label,
        query=query,
        dataSource=datasource,
        type="query",
        multi=multi,
        includeAll=multi,
        allValue=".+" if multi else None,
        refresh=2,
        regex=regex,
        sort=1,
    )


def job_instance_vars(metric: str, selector: str, datasource: dict[str, str]) -> list[g.Template]:
    """``job`` then ``instance``, the latter narrowed to the chosen jobs."""
    sel = f"{{{selector}}}" if selector else ""
    return [
        query_var("job", "Job", f"label_values({metric}{sel}, job)", datasource),
        query_var(
            "instance", "Instance", f'label_values({metric}{{job=~"$job"}}, instance)', datasource
        ),
    ]


def language_var(datasource: dict[str, str]) -> g.Template:
    return query_var(
        "language",
        "Language",
        'label_values(chunkscope_files_total{job=~"$job", instance=~"$instance"}, '
        "chunkscope_language)",
        datasource,
    )


def chunker_var(datasource: dict[str, str]) -> g.Template:
    """Which chunker's work to show (``chunkscope.chunker``); pick several to compare."""
    return query_var(
        "chunker",
        "Chunker",
        'label_values(chunkscope_files_total{job=~"$job", instance=~"$instance"}, '
        f"{CHUNKER_LABEL})",
        datasource,
    )


def dashboard(
    cfg: Config,
    key: str,
    title: str,
    description: str,
    rows: Sequence[Row],
    variables: Sequence[g.Template],
) -> g.Dashboard:
    """The envelope: stable uid from ``key``, shared crosshair, links to the sibling dashboards."""
    return g.Dashboard(
        title=title,
        uid=f"{cfg.dashboard_uid_prefix}-{key}",
        description=description,
        tags=["chunkscope"],
        timezone="browser",
        refresh="30s",
        schemaVersion=SCHEMA_VERSION,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        time=g.Time("now-1h", "now"),
        editable=True,
        links=[
            g.DashboardLink(
                title="chunkscope",
                tags=["chunkscope"],
                asDropdown=True,
                includeVars=True,
                keepTime=True,
                type="dashboards",
            )
        ],
        templating=g.Templating(list=list(variables)),
        panels=layout(rows),
    )
