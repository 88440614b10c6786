"""Per-caller limits: the hit over the limit is refused with the seconds to wait, others are not."""

from __future__ import annotations

import pytest

from shared.errors import TooManyRequests
from shared.ratelimit import PerMinuteLimit

pytestmark = pytest.mark.unit


def test_the_hit_over_the_limit_is_refused_for_that_caller_only() -> None:
    limit = PerMinuteLimit("lookup", 2)
    limit.hit("a")
    limit.hit("a")
    with pytest.raises(TooManyRequests, match="lookup: at most 2 per minute") as refused:
        limit.hit("a")
    assert 1 <= refused.value.retry_after <= 60 and refused.value.status_code == 429
    limit.hit("b")


def test_a_limit_allows_at_least_one_hit() -> None:
    with pytest.raises(ValueError, match="at least one"):
        PerMinuteLimit("lookup", 0)
