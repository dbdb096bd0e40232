"""The worked example of docs/methodology.md, computed by the model."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
import yaml

from greenchain.scoring.model import Methodology, rate
from greenchain.scoring.model.methodology import CATEGORIES
from greenchain.scoring.model.rating import ZERO_CARBON_CRITERIA
from greenchain.scoring.ratings import zero_carbon_criteria
from greenchain.testing.worked_example import (
    example_inputs,
    expected_certificates_carbon_intensity,
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
        if math.isnan(value):  # "-": not declared, no value
            assert row[indicator.name] is None, indicator.name
        else:
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


def test_a_site_deducting_certificates_takes_the_residual_grid_factor() -> None:
    declarations, registry = example_inputs()
    energy = pl.col("kind") == "energy"
    deducting = declarations.with_columns(
        market_renewable_kwh=pl.when(energy).then(10_000.0).otherwise(None)
    )
    (row,) = rate(deducting, registry, Methodology.load()).iter_rows(named=True)
    assert row["carbon_intensity"] == pytest.approx(
        expected_certificates_carbon_intensity(), rel=1e-6
    )


def test_the_packaged_methodology_is_consistent() -> None:
    m = Methodology.load()
    assert sum(i.max_points for i in m.indicators) == pytest.approx(100.0)
    assert [t.name for t in m.tiers] == ["national", "provincial", "municipal"]
    assert m.tiers[0].min_score > m.tiers[1].min_score > m.tiers[2].min_score


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenchain.scoring", "--check-methodology", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_methodology_file_gets_one_line_naming_file_and_key(tmp_path: Path) -> None:
    packaged = yaml.safe_load(
        resources.files("greenchain.scoring.model").joinpath("methodology.yaml").read_text()
    )
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(packaged))
    assert _check(good).returncode == 0

    missing = copy.deepcopy(packaged)
    del missing["factors"]["grid_tco2_per_mwh"]
    wrong_type = copy.deepcopy(packaged)
    wrong_type["tiers"]["national"]["min_score"] = "eighty"
    for name, data, key in (
        ("missing.yaml", missing, "factors.grid_tco2_per_mwh"),
        ("wrong-type.yaml", wrong_type, "tiers.national.min_score"),
    ):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        result = _check(path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert str(path) in lines[0] and f"key '{key}'" in lines[0]
