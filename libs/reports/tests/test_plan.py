"""The improvement plan against ratings the real scoring model computed (no Kafka)."""

from __future__ import annotations

import pytest

from greenchain.reports.plan import improvement_plan, value_for_points
from greenchain.testing.flows import offline_ratings, sample_declarations
from greenchain.v1 import rating_pb2


@pytest.fixture(scope="module")
def ratings() -> list[rating_pb2.SupplierRating]:
    suppliers, decls = sample_declarations(suppliers=40, months=6, seed=3)
    return list(offline_ratings(suppliers, decls).values())


def points_of(ind: rating_pb2.IndicatorScore, value: float) -> float:
    """docs/methodology.md section 4: max x clamp((value - B) / (L - B), 0, 1)."""
    b, lead = ind.benchmark_value, ind.leading_value
    return ind.max_points * min(max((value - b) / (lead - b), 0.0), 1.0)


def test_the_inverse_of_the_scoring_formula_gives_back_each_value(
    ratings: list[rating_pb2.SupplierRating],
) -> None:
    checked = 0
    for r in ratings:
        for ind in r.indicators:
            # values travel rounded to 6 decimals: compare those with 3 significant digits
            if ind.HasField("value") and abs(ind.value) > 0.01 and 0 < ind.points < ind.max_points:
                # what the value's rounding (half a millionth) can move the points by
                slope = ind.max_points / abs(ind.leading_value - ind.benchmark_value)
                rounding = slope * 0.5e-6 + 0.5e-6
                assert points_of(ind, ind.value) == pytest.approx(
                    ind.points, rel=1e-2, abs=max(1e-3, 2 * rounding)
                )
                assert value_for_points(ind, ind.points) == pytest.approx(ind.value, rel=1e-2)
                checked += 1
    assert checked > 50


def test_following_the_plan_reaches_the_next_tier_score(
    ratings: list[rating_pb2.SupplierRating],
) -> None:
    planned = 0
    for r in ratings:
        plan = improvement_plan(r)
        if plan.next_tier is None:
            continue
        assert plan.next_tier == r.readiness_tier + 1
        assert plan.target_score == r.next_tier_min_score
        assert plan.reachable
        targets = {s.indicator: s.target for s in plan.steps}
        total = 0.0
        for ind in r.indicators:
            if ind.indicator in targets:
                total += points_of(ind, targets[ind.indicator])
            else:
                total += ind.points
        assert total >= r.next_tier_min_score - 1e-3, (r.supplier_id, total)
        # the fewest indicators: every step but the last is taken to its full points
        for step in plan.steps[:-1]:
            assert step.target_points == pytest.approx(step.max_points)
        for step in plan.steps:
            better = step.target <= (step.value or step.target) if step.lower_is_better else True
            assert better and step.gain > 0
        planned += 1
    assert planned > 10


def test_national_tier_lists_the_verified_share_it_needs() -> None:
    r = rating_pb2.SupplierRating(
        supplier_id="s",
        grade=rating_pb2.GRADE_NOT_ELIGIBLE,
        total_score=82.0,
        readiness_tier=rating_pb2.READINESS_TIER_PROVINCIAL,
        next_tier_min_score=80.0,
        coverage=rating_pb2.DataCoverage(verified_share=0.2),
        thresholds=[
            rating_pb2.Threshold(
                name="tier.national.min_verified_share", value=0.5, basis="greenchain default"
            )
        ],
    )
    plan = improvement_plan(r)
    assert plan.gap == 0 and not plan.steps
    assert [(c.required, c.current, c.met) for c in plan.conditions] == [(0.5, 0.2, False)]
    assert "verified" in plan.summary() and "national" in plan.summary()


def test_no_plan_without_a_rating_or_above_the_top() -> None:
    insufficient = rating_pb2.SupplierRating(
        grade=rating_pb2.GRADE_INSUFFICIENT_DATA, insufficient_reasons=["2 months of data"]
    )
    assert improvement_plan(insufficient).summary() == "no rating yet: 2 months of data"
    top = rating_pb2.SupplierRating(
        grade=rating_pb2.GRADE_A, readiness_tier=rating_pb2.READINESS_TIER_NATIONAL
    )
    assert improvement_plan(top).next_tier is None
