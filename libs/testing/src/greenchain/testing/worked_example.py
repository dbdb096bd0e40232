"""The worked example of docs/methodology.md: its inputs and expected numbers live in the doc."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
import yaml

from greenchain.scoring.model import DECLARATION_SCHEMA, SUPPLIER_SCHEMA
from greenchain.testing import ROOT

DOC = ROOT / "docs" / "methodology.md"


def _block(name: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- {name}:begin -->(.*?)<!-- {name}:end -->", text, re.S)
    if match is None:
        raise ValueError(f"{DOC} has no {name} block")
    return match.group(1)


def example_inputs() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The example's declarations and registry, as model frames."""
    spec: dict[str, Any] = yaml.safe_load(
        _block("worked-example-input").split("```yaml")[1].split("```")[0]
    )
    supplier = spec["supplier"]
    rows: list[dict[str, Any]] = []
    for month in spec["months"]:
        year, mon = (int(x) for x in str(month).split("-"))
        for kind, values in spec["monthly"].items():
            rows.append(
                {
                    "supplier_id": supplier["supplier_id"],
                    "site_id": "s1",
                    "period": year * 12 + mon - 1,
                    "kind": kind,
                    "declaration_id": f"{month}-{kind}",
                    "verified": spec["verified"],
                    **values,
                }
            )
    for event in spec.get("once", []):  # declarations of a single month (offsets, management)
        year, mon = (int(x) for x in str(event["month"]).split("-"))
        rows.append(
            {
                "supplier_id": supplier["supplier_id"],
                "site_id": "s1",
                "period": year * 12 + mon - 1,
                "kind": event["kind"],
                "declaration_id": f"{event['month']}-{event['kind']}",
                "verified": spec["verified"],
                **event["values"],
            }
        )
    for pcf in spec["product_footprints"]:
        year, mon = (int(x) for x in str(pcf["month"]).split("-"))
        rows.append(
            {
                "supplier_id": supplier["supplier_id"],
                "site_id": "s1",
                "period": year * 12 + mon - 1,
                "kind": "product_footprint",
                "declaration_id": f"{pcf['month']}-pcf-{pcf['product_id']}",
                "verified": spec["verified"],
                "product_id": pcf["product_id"],
                "output_value_share": pcf["output_value_share"],
                "primary_data_share": pcf["primary_data_share"],
            }
        )
    registry = pl.DataFrame(
        [
            {
                **supplier,
                "supplier_name": "Example Co.",
                "chain_ids": ["chain-x"],
                "site_regions": [{"site_id": "s1", "region": supplier["region"]}],
                "zero_carbon_designated": False,
            }
        ],
        schema=SUPPLIER_SCHEMA,
    )
    return pl.DataFrame(rows, schema=DECLARATION_SCHEMA), registry


def expected_numbers() -> dict[str, tuple[float, float]]:
    """indicator (or category / total) -> (value, points) as written in the doc's tables."""
    expected: dict[str, tuple[float, float]] = {}
    for line in _block("worked-example-result").splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[a-z0-9_]+", cells[0]) and cells[1] != "value":
            value = float(cells[1]) if cells[1] not in ("", "-") else float("nan")
            expected[cells[0]] = (value, float(cells[-1]))
    return expected


def expected_zero_carbon() -> dict[str, tuple[float, bool]]:
    """criterion -> (value, met) as written in the doc's zero-carbon table."""
    expected: dict[str, tuple[float, bool]] = {}
    for line in _block("worked-example-zero-carbon").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[a-z0-9_]+", cells[0]) and cells[0] != "criterion":
            expected[cells[0]] = (float(cells[1]), cells[2] == "yes")
    return expected


def expected_certificates_carbon_intensity() -> float:
    """The carbon intensity the doc gives for the same site deducting certificates."""
    tag = "worked-example-certificates"
    match = re.search(rf"<!-- {tag} -->\*\*([0-9.]+)\*\*<!-- /{tag} -->", DOC.read_text())
    if match is None:
        raise ValueError(f"{DOC} has no worked-example-certificates value")
    return float(match.group(1))
