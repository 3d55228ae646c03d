"""Load shapes as data: phases with a share of the duration and a concurrency multiple."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Phase:
    """A stretch of a scenario: its share of the duration and its concurrency multiple."""

    name: str
    share: float
    concurrency_factor: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named load shape; ``duration`` is its default length in seconds."""

    name: str
    description: str
    phases: tuple[Phase, ...]
    duration: float
    judge_rss: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "basic",
            "steady load at the sustainable concurrency",
            (Phase("steady", 1.0, 1.0),),
            30.0,
        ),
        Scenario(
            "stress",
            "twice the sustainable concurrency: expect shedding, not errors",
            (Phase("stress", 1.0, 2.0),),
            30.0,
        ),
        Scenario(
            "spike",
            "steady, a burst at five times the concurrency, steady again",
            (Phase("before", 0.4, 1.0), Phase("burst", 0.2, 5.0), Phase("after", 0.4, 1.0)),
            25.0,
        ),
        Scenario(
            "endurance",
            "long steady load; the server's memory must stay flat",
            (Phase("steady", 1.0, 1.0),),
            600.0,
            judge_rss=True,
        ),
    )
}
"""Every scenario by name; ``--concurrency`` is the base the factors multiply."""


def default_concurrency() -> int:
    """Twice the cores: enough to keep every worker busy while the next request travels."""
    return 2 * (os.cpu_count() or 1)
