"""The retry decisions: what each answer means, how long to wait, which replica is next."""

from __future__ import annotations

import pytest

from chunkscope.remote.retry import Replicas, RetryPolicy, classify, overload_delay, retry_after


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "done"),
        (429, "overloaded"),
        (413, "oversize"),
        (500, "failed"),
        (503, "failed"),
        (504, "failed"),
        (None, "failed"),
        (400, "refused"),
        (422, "refused"),
    ],
)
def test_classify(status: int | None, verdict: str) -> None:
    """Only 429 waits, only 5xx and no answer fail over, 413 goes local, other 4xx stop."""
    assert classify(status) == verdict


def test_retry_after_reads_seconds_and_falls_back() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(" 0 ") == 0.0
    assert retry_after(None) == 1.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0
    assert retry_after("-4") == 1.0


def test_overload_delay_never_undercuts_retry_after_and_grows_capped() -> None:
    """The jitter is on top of Retry-After, doubles per refusal, and stops at the cap."""
    policy = RetryPolicy(backoff_seconds=0.1, max_backoff_seconds=1.0)
    assert overload_delay(policy, 1, 2.0, lambda: 0.0) == 2.0
    assert overload_delay(policy, 1, 2.0, lambda: 1.0) == pytest.approx(2.1)
    assert overload_delay(policy, 3, 2.0, lambda: 1.0) == pytest.approx(2.4)
    assert overload_delay(policy, 30, 2.0, lambda: 1.0) == pytest.approx(3.0)


class TestReplicas:
    def test_round_robin(self) -> None:
        replicas = Replicas(["http://a/", "http://b", "http://c"])
        assert [replicas.pick() for _ in range(4)] == [
            "http://a",
            "http://b",
            "http://c",
            "http://a",
        ]

    def test_avoids_the_replica_that_just_failed(self) -> None:
        replicas = Replicas(["http://a", "http://b"])
        assert {replicas.pick(avoid="http://a") for _ in range(4)} == {"http://b"}

    def test_a_failed_replica_rests_then_returns(self) -> None:
        now = [0.0]
        replicas = Replicas(["http://a", "http://b"], down_seconds=5, clock=lambda: now[0])
        replicas.failed("http://a")
        assert {replicas.pick() for _ in range(4)} == {"http://b"}
        now[0] = 6.0
        assert {replicas.pick() for _ in range(4)} == {"http://a", "http://b"}

    def test_a_single_url_is_used_even_after_failing(self) -> None:
        """One Service URL: a retry goes to it again (the Service picks another pod)."""
        replicas = Replicas(["http://svc:8080"])
        replicas.failed("http://svc:8080")
        assert replicas.pick(avoid="http://svc:8080") == "http://svc:8080"

    def test_needs_a_url(self) -> None:
        with pytest.raises(ValueError):
            Replicas([])
