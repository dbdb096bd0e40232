"""Chain progress computed by hand for small chains (pure polars, no store, no Kafka)."""

from __future__ import annotations

import pytest

from greenchain.ledger.progress import chain_progress
from greenchain.testing.builders import rating
from greenchain.v1 import rating_pb2, supplier_pb2

NOT_YET = rating_pb2.READINESS_TIER_NOT_YET
MUN = rating_pb2.READINESS_TIER_MUNICIPAL
PROV = rating_pb2.READINESS_TIER_PROVINCIAL
NAT = rating_pb2.READINESS_TIER_NATIONAL
L_NAT = supplier_pb2.DESIGNATION_LEVEL_NATIONAL
L_PROV = supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL
L_MUN = supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL


def test_designated_share_by_level_forecast_and_purchase_weighting() -> None:
    ratings = [
        rating("A", 85, NAT, 400.0, designated=L_NAT, purchase=10.0),
        rating("B", 70, PROV, 300.0, designated=L_PROV, purchase=30.0),
        rating("C", 55, MUN, 200.0, purchase=60.0),  # ready, not designated
        rating("D", 40, NOT_YET, 100.0, designated=L_MUN),  # designated, no purchase value
        rating("E", 30, NOT_YET, 1000.0),
    ]
    p = chain_progress("chain-a", ratings, [])
    # total 2000; designated A 400 + B 300 + D 100 = 800
    assert p.designated_share == pytest.approx(0.40)
    assert {s.level: s.share for s in p.designated_by_level} == pytest.approx(
        {L_NAT: 0.20, L_PROV: 0.35, L_MUN: 0.40}
    )
    assert {s.level: s.suppliers for s in p.designated_by_level} == {L_NAT: 1, L_PROV: 2, L_MUN: 3}
    # forecast: designated (A, B, D) + ready (A, B, C): 400 + 300 + 200 + 100 = 1000
    assert p.forecast_share == pytest.approx(0.50)
    assert p.readiness_share == pytest.approx(0.45)  # A + B + C = 900
    assert p.gap_to_target == pytest.approx(0.0)
    # purchases: A 10 and B 30 designated, C 60 not: (10 + 30) / 100; D has no purchase value
    assert p.purchase_weighted_designated_share == pytest.approx(0.40)
    assert p.purchase_value_suppliers == 3
    # leverage: undesignated output; ready C first, then E
    assert [(i.supplier_id, round(i.designated_share_gain, 6)) for i in p.leverage] == [
        ("C", 0.1),
        ("E", 0.5),
    ]


def test_a_revoked_designation_does_not_count_and_the_gap_is_shown() -> None:
    revoked = rating("A", 85, NAT, 700.0, designated=L_NAT)
    revoked.sites[0].green_factory.status = supplier_pb2.DESIGNATION_STATUS_REVOKED
    p = chain_progress("chain-a", [revoked, rating("B", 60, MUN, 300.0, designated=L_MUN)], [])
    assert p.designated_share == pytest.approx(0.30)  # only B: 300 of 1000
    assert p.gap_to_target == pytest.approx(0.10)
    assert not p.HasField("purchase_weighted_designated_share")


def test_readiness_shares_by_tier() -> None:
    ratings = [
        rating("A", 85, NAT, 400.0),
        rating("B", 70, PROV, 300.0),
        rating("C", 55, MUN, 200.0),
        rating("D", 40, NOT_YET, 100.0),
    ]
    progress = chain_progress("chain-a", ratings, [])
    shares = {s.tier: s.share for s in progress.tier_shares}
    assert shares == pytest.approx({MUN: 0.9, PROV: 0.7, NAT: 0.4})
    assert progress.designated_share == 0.0
    # nobody is designated: everyone is a lever, ready ones first by output
    assert [i.supplier_id for i in progress.leverage] == ["A", "B", "C", "D"]
    d = progress.leverage[3]
    assert (d.green_share_gain, d.points_to_next_tier) == pytest.approx((0.1, 10.0))
