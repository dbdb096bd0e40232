"""The worked example of docs/methodology.md, computed by the model."""

from __future__ import annotations

import math

import pytest

from greenchain.scoring.model import Methodology, rate
from greenchain.scoring.model.methodology import CATEGORIES
from greenchain.scoring.model.rating import ZERO_CARBON_CRITERIA
from greenchain.scoring.ratings import zero_carbon_criteria
from greenchain.testing.worked_example import (
    example_inputs,
    expected_numbers,
    expected_zero_carbon,
)


def test_worked_example_matches_the_model() -> None:
    methodology = Methodology.load()
    declarations, registry = example_inputs()
    (row,) = rate(declarations, registry, methodology).iter_rows(named=True)
    expected = expected_numbers()
    assert len(expected) == len(methodology.indicators) + len(CATEGORIES) + 1
    for indicator in methodology.indicators:
        value, points = expected[indicator.name]
        assert row[indicator.name] == pytest.approx(value, rel=1e-6), indicator.name
        assert row[f"{indicator.name}__points"] == pytest.approx(points, abs=1e-5), indicator.name
    for category in CATEGORIES:
        assert row[f"{category}__points"] == pytest.approx(expected[category][1], abs=1e-5)
    assert row["total_score"] == pytest.approx(expected["total_score"][1], abs=1e-4)
    assert (row["readiness_tier"], row["grade"], row["months_present"]) == (
        "municipal",
        "a_plus",  # a national green factory, first among its sector's
        3,
    )
    assert row["sector_percentile"] == 0.0
    assert math.isclose(row["output_value_cny"], 120_000_000)
    # zero-carbon: every criterion as the doc's table says, so the status is not met
    criteria = {c.name: c for c in zero_carbon_criteria(row, methodology)}
    assert list(criteria) == list(ZERO_CARBON_CRITERIA)
    for name, (value, met) in expected_zero_carbon().items():
        assert criteria[name].value == pytest.approx(value, abs=1e-6), name
        assert criteria[name].met is met, name
    assert (row["zero_carbon_status"], row["zero_carbon_candidate"]) == ("not_met", False)


def test_the_packaged_methodology_is_consistent() -> None:
    m = Methodology.load()
    assert sum(i.max_points for i in m.indicators) == pytest.approx(100.0)
    assert [t.name for t in m.tiers] == ["national", "provincial", "municipal"]
    assert m.tiers[0].min_score > m.tiers[1].min_score > m.tiers[2].min_score
