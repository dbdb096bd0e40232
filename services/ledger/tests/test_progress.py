"""Chain progress computed by hand for a small chain (pure polars, no store, no Kafka)."""

from __future__ import annotations

import pytest

from greenchain.ledger.progress import chain_progress
from greenchain.testing.builders import rating
from greenchain.v1 import rating_pb2

NOT_YET = rating_pb2.READINESS_TIER_NOT_YET
MUN = rating_pb2.READINESS_TIER_MUNICIPAL
PROV = rating_pb2.READINESS_TIER_PROVINCIAL
NAT = rating_pb2.READINESS_TIER_NATIONAL


def test_shares_by_tier_and_the_leverage_list() -> None:
    ratings = [
        rating("A", 85, NAT, 400.0),
        rating("B", 70, PROV, 300.0),
        rating("C", 55, MUN, 200.0),
        rating("D", 40, NOT_YET, 100.0),
    ]
    progress = chain_progress("chain-a", ratings, [])
    # at or above municipal: A+B+C = 900 of 1000
    shares = {s.tier: s.share for s in progress.tier_shares}
    assert shares == pytest.approx({MUN: 0.9, PROV: 0.7, NAT: 0.4})
    assert progress.green_share == pytest.approx(0.9)
    assert progress.total_output_value_cny == 1000.0
    # D is the only one that raises the green share; then C, B by output at their next tier
    assert [i.supplier_id for i in progress.leverage] == ["D", "B", "C"]
    d, b, c = progress.leverage
    assert (d.green_share_gain, d.points_to_next_tier) == pytest.approx((0.1, 10.0))
    assert (b.tier_share_gain, b.points_to_next_tier) == pytest.approx((0.3, 10.0))
    assert (c.tier_share_gain, c.points_to_next_tier) == pytest.approx((0.2, 10.0))
