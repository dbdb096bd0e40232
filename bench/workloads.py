"""Inputs for the benchmarks, built from the sample population generator."""

from __future__ import annotations

from typing import Any

import polars as pl

from greenchain.client import sampledata
from greenchain.scoring.engine import supplier_row
from greenchain.scoring.model import DECLARATION_SCHEMA, SUPPLIER_SCHEMA
from greenchain.scoring.state import _BODY_FIELDS

RENEWABLE = ["renewable_onsite_kwh", "renewable_certificates_kwh", "renewable_ppa_kwh"]


def model_inputs(
    suppliers: int, months: int = 12, seed: int = 5
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(declarations, suppliers) frames in the model's schemas: one emissions, energy and
    circularity declaration per supplier and month, as the scoring worker would hold them."""
    population = sampledata.generate(suppliers, months, seed)
    monthly = population.monthly.with_columns(
        period=(pl.col("year") * 12 + pl.col("month") - 1).cast(pl.Int32),
        renewable_kwh=pl.sum_horizontal(RENEWABLE),
        market_renewable_kwh=pl.sum_horizontal(RENEWABLE[1:]),  # certificates + PPA
        grid_region=pl.lit(None, pl.Utf8),
    )
    parts = []
    for kind in ("emissions", "energy", "circularity"):
        fields = list(_BODY_FIELDS[kind]) + (
            ["renewable_kwh", "market_renewable_kwh", "grid_region"] if kind == "energy" else []
        )
        parts.append(
            monthly.select(
                "supplier_id",
                "site_id",
                "period",
                pl.lit(kind).alias("kind"),
                pl.format("{}:{}:{}:{}", "supplier_id", "site_id", "period", pl.lit(kind)).alias(
                    "declaration_id"
                ),
                "verified",
                *fields,
            )
        )
    combined = pl.concat(parts, how="diagonal_relaxed")
    declarations = combined.select(  # product-footprint columns stay empty
        pl.col(c).cast(t) if c in combined.columns else pl.lit(None, t).alias(c)
        for c, t in DECLARATION_SCHEMA.items()
    )
    registry = pl.DataFrame(
        [supplier_row(s) for s in sampledata.designated_suppliers(population)],
        schema=SUPPLIER_SCHEMA,
    )
    return declarations, registry


def plain_inputs(
    declarations: pl.DataFrame, suppliers: pl.DataFrame
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The same inputs as Python dicts (the plain-Python baseline's natural form)."""
    rows = [
        {k: v for k, v in row.items() if v is not None} | {"grid_region": row["grid_region"]}
        for row in declarations.iter_rows(named=True)
    ]
    registry = {row["supplier_id"]: row for row in suppliers.iter_rows(named=True)}
    return rows, registry
