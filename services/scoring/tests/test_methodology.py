"""The worked example of docs/methodology.md, computed by the model."""

from __future__ import annotations

import math

import pytest

from greenchain.scoring.model import Methodology, rate
from greenchain.scoring.model.methodology import CATEGORIES
from greenchain.testing.worked_example import example_inputs, expected_numbers


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
        "a_plus",
        3,
    )
    assert not row["zero_carbon_candidate"]
    assert math.isclose(row["output_value_cny"], 120_000_000)


def test_the_packaged_methodology_is_consistent() -> None:
    m = Methodology.load()
    assert sum(i.max_points for i in m.indicators) == pytest.approx(100.0)
    assert [t.name for t in m.tiers] == ["national", "provincial", "municipal"]
    assert m.tiers[0].min_score > m.tiers[1].min_score > m.tiers[2].min_score
