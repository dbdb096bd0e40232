from __future__ import annotations

from greenchain.reports.alerts import chain_alerts
from greenchain.testing.builders import rating
from greenchain.v1 import rating_pb2

MUN, PROV = rating_pb2.READINESS_TIER_MUNICIPAL, rating_pb2.READINESS_TIER_PROVINCIAL


def test_tier_drops_and_stale_suppliers() -> None:
    dropped = rating("a", 60.0, MUN, 100.0)
    dropped.previous_tier = PROV
    dropped.score_change = -6.0
    rose = rating("b", 70.0, PROV, 100.0)
    rose.previous_tier = MUN
    stale = rating("c", 70.0, PROV, 100.0, window_end=(2025, 8))
    fresh = rating("d", 70.0, PROV, 100.0, window_end=(2025, 10))
    alerts = chain_alerts([dropped, rose, stale, fresh], stale_months=3)
    assert [(a.kind, a.supplier_id) for a in alerts] == [("tier_drop", "a"), ("stale", "c")]
    assert "provincial to municipal" in alerts[0].message and "-6.0" in alerts[0].message
    assert "after 2025-08" in alerts[1].message and "2025-12" in alerts[1].message
