"""The rating model written the way a plain-Python service would: loops and dicts, no polars.

It is the baseline of two benchmarks (the model alone, and the naive per-event faust agent) and
does the same arithmetic as ``greenchain.scoring.model`` (docs/methodology.md); ``bench.run``
checks that both agree on every supplier's total, tier and grade before it reports any timing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from greenchain.scoring.model import Methodology
from greenchain.scoring.model.rating import POLLUTANTS

Row = Mapping[str, Any]  # one declaration as a model row (greenchain.scoring.state.model_row)


@dataclass
class Rated:
    total_score: float
    readiness_tier: str
    grade: str
    indicators: dict[str, float | None]
    sector_code: str | None
    insufficient: bool
    verified_share: float


FUELS = (
    "natural_gas_m3",
    "coal_t",
    "gasoline_t",
    "diesel_t",
    "fuel_oil_t",
    "oil_products_t",
    "purchased_heat_gj",
)


def _div(a: float, b: float) -> float | None:
    """a / b as polars computes it, with 0/0 and NaN as "no value"."""
    if b == 0:
        return None if a == 0 else math.copysign(math.inf, a)
    value = a / b
    return None if math.isnan(value) else value


def supplier_indicators(
    rows: Sequence[Row], supplier: Mapping[str, Any] | None, m: Methodology
) -> dict[str, Any]:
    """Window, coverage and the indicator values of one supplier."""
    f = m.factors
    regions = f["grid_tco2_per_mwh_by_region"]
    provinces = f["province_grid_region"]
    site_region = {s["site_id"]: s["region"] for s in ((supplier or {}).get("site_regions") or [])}
    # the window ends with the latest emissions or energy month (else the latest of any kind)
    window_end = max(
        (r["period"] for r in rows if r["kind"] in ("emissions", "energy")),
        default=max(r["period"] for r in rows),
    )
    window = [r for r in rows if window_end - m.window_months < r["period"] <= window_end]
    sums: dict[str, float] = defaultdict(float)
    kinds_by_period: dict[int, set[str]] = defaultdict(set)
    emission_periods: set[int] = set()
    latest_product: dict[str, tuple[int, float | None, float | None]] = {}
    verified = 0
    carbon_grid = 0.0
    declared: set[str] = set()  # pollutants some declaration of the window declares
    for r in window:
        kind = r["kind"]
        verified += bool(r["verified"])
        kinds_by_period[r["period"]].add(kind)
        if kind == "emissions":
            emission_periods.add(r["period"])
            sums["scope1"] += r["scope1_tco2e"] or 0.0
            sums["output"] += r["output_value_cny"] or 0.0
        elif kind == "energy":
            electricity, renewable = r["electricity_kwh"] or 0.0, r["renewable_kwh"] or 0.0
            sums["electricity"] += electricity
            sums["renewable"] += renewable
            for name in FUELS:
                sums[name] += r.get(name) or 0.0
            if (r.get("market_renewable_kwh") or 0.0) > 0:
                factor = f["grid_residual_tco2_per_mwh"]
            else:
                province = site_region.get(r["site_id"])
                region = provinces.get(province.lower()) if province else None
                region = region or (r.get("grid_region") or "").lower()
                factor = regions.get(region, f["grid_tco2_per_mwh"])
            carbon_grid += max(electricity - renewable, 0.0) / 1000 * factor
        elif kind == "circularity":
            for name in (
                "raw_material_input_t",
                "recycled_input_t",
                "solid_waste_generated_t",
                "solid_waste_utilised_t",
                "hazardous_waste_t",
                "water_withdrawn_m3",
                "water_reused_m3",
            ):
                sums[name] += r[name] or 0.0
            for pollutant in POLLUTANTS:
                if r.get(f"{pollutant}_t") is not None:
                    declared.add(pollutant)
                    sums[f"{pollutant}_t"] += r[f"{pollutant}_t"]
        elif kind == "product_footprint":
            known = latest_product.get(r["product_id"])
            if known is None or r["period"] >= known[0]:
                latest_product[r["product_id"]] = (
                    r["period"],
                    r["output_value_share"],
                    r["primary_data_share"],
                )
    kinds = {r["kind"] for r in window}
    has_circularity = "circularity" in kinds
    months_present = sum(1 for k in kinds_by_period.values() if "emissions" in k and "energy" in k)
    coverage, primary = 0.0, 0.0
    if latest_product:
        shares = sum(s or 0.0 for _, s, _ in latest_product.values())
        coverage = min(shares, 1.0)
        weighted = sum((s or 0.0) * (p or 0.0) for _, s, p in latest_product.values())
        primary = weighted / shares if shares else math.nan
    output_window = sums["output"]
    output_value = output_window * 12 / len(emission_periods) if emission_periods else 0.0
    output_10k = output_window / 1e4
    energy_tce = (
        sums["electricity"] / 1000 * f["electricity_tce_per_mwh"]
        + sums["natural_gas_m3"] / 1000 * f["natural_gas_tce_per_1000m3"]
        + sums["coal_t"] * f["raw_coal_tce_per_t"]
        + sums["gasoline_t"] * f["gasoline_tce_per_t"]
        + sums["diesel_t"] * f["diesel_tce_per_t"]
        + sums["fuel_oil_t"] * f["fuel_oil_tce_per_t"]
        + sums["oil_products_t"] * f["oil_products_tce_per_t"]
        + sums["purchased_heat_gj"] * f["heat_tce_per_gj"]
    )

    def per_output(value: float) -> float | None:
        return value / output_10k if output_10k > 0 else None

    land = supplier.get("land_area_m2") if supplier else None
    values: dict[str, float | None] = {
        "energy_intensity": per_output(energy_tce),
        "carbon_intensity": per_output(sums["scope1"] + carbon_grid),
        "renewable_share": _div(sums["renewable"], sums["electricity"]),
        "water_intensity": per_output(sums["water_withdrawn_m3"]) if has_circularity else None,
        "water_reuse_rate": _div(sums["water_reused_m3"], sums["water_withdrawn_m3"]),
        "solid_waste_utilisation": _div(
            sums["solid_waste_utilised_t"], sums["solid_waste_generated_t"]
        ),
        "recycled_input_share": _div(sums["recycled_input_t"], sums["raw_material_input_t"]),
        "hazardous_waste_intensity": (
            per_output(sums["hazardous_waste_t"]) if has_circularity else None
        ),
        **{
            f"{p}_intensity": per_output(sums[f"{p}_t"]) if p in declared else None
            for p in POLLUTANTS
        },
        "pcf_coverage": coverage,
        "pcf_primary_data_share": primary,
        "land_output": output_value / 1e4 / land if land and land > 0 else None,
    }
    sector = supplier.get("sector_code") if supplier else None
    return {
        "sector_code": sector,
        "national": bool(supplier and supplier.get("green_factory_level") == "national"),
        "verified_share": verified / len(window),
        "insufficient": sector is None or months_present < m.min_months or output_value <= 0,
        "values": values,
    }


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (polars ``interpolation="linear"``)."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def benchmarks(
    population: Mapping[str, Mapping[str, Any]], m: Methodology
) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """Per sector: (benchmark, leading) of each indicator (table, else sector, else pooled)."""
    by_sector: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    pooled: dict[str, list[float]] = defaultdict(list)
    sectors = {p["sector_code"] for p in population.values() if p["sector_code"] is not None}
    for p in population.values():
        if p["insufficient"]:
            continue
        for name, value in p["values"].items():
            if value is not None:
                by_sector[p["sector_code"]][name].append(value)
                pooled[name].append(value)

    def stats(values: list[float], lower_is_better: bool) -> tuple[float, float]:
        ordered = sorted(values)
        digits = m.population_significant_figures
        median = _quantile(ordered, 0.5)
        leading = _quantile(ordered, 0.05 if lower_is_better else 0.95)
        return float(f"{median:.{digits}g}"), float(f"{leading:.{digits}g}")

    out: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for sector in sectors:
        row: dict[str, tuple[float | None, float | None]] = {}
        for ind in m.indicators:
            configured = m.sectors.get(sector, {}).get(ind.name) or m.defaults.get(ind.name)
            own = by_sector[sector][ind.name]
            if configured:
                row[ind.name] = (float(configured["benchmark"]), float(configured["leading"]))
            elif len(own) >= m.min_population:
                row[ind.name] = stats(own, ind.lower_is_better)
            elif len(pooled[ind.name]) >= m.min_population:
                row[ind.name] = stats(pooled[ind.name], ind.lower_is_better)
            else:
                row[ind.name] = (None, None)
        out[sector] = row
    return out


def _fraction(
    value: float | None, benchmark: float | None, leading: float | None, lower: bool
) -> float:
    if value is None or benchmark is None or leading is None:
        return 0.0
    if benchmark == leading:
        return 1.0 if (value <= leading if lower else value >= leading) else 0.0
    return min(max((value - benchmark) / (leading - benchmark), 0.0), 1.0)


def score_one(
    indicators: Mapping[str, Any],
    bench: Mapping[str, tuple[float | None, float | None]],
    m: Methodology,
) -> tuple[float, str]:
    """(total score, readiness tier) of one supplier."""
    if indicators["insufficient"]:
        return 0.0, "not_yet"
    total = 0.0
    for ind in m.indicators:
        benchmark, leading = bench.get(ind.name, (None, None))
        value = indicators["values"][ind.name]
        total += _fraction(value, benchmark, leading, ind.lower_is_better) * ind.max_points
    total = round(total, 4)
    tier = "not_yet"
    for t in reversed(m.tiers):  # lowest first: the best matching tier wins
        if total >= t.min_score and indicators["verified_share"] >= t.min_verified_share:
            tier = t.name
    return total, tier


def rate(
    rows: Iterable[Row], suppliers: Mapping[str, Mapping[str, Any]], m: Methodology
) -> dict[str, Rated]:
    """Every supplier with declarations in ``rows``: indicators, benchmarks, score, grade."""
    return score_population(population(rows, suppliers, m), m)


def population(
    rows: Iterable[Row], suppliers: Mapping[str, Mapping[str, Any]], m: Methodology
) -> dict[str, dict[str, Any]]:
    """supplier_indicators of every supplier with declarations in ``rows``."""
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["supplier_id"]].append(row)
    return {sid: supplier_indicators(own, suppliers.get(sid), m) for sid, own in grouped.items()}


def score_population(
    population: Mapping[str, Mapping[str, Any]], m: Methodology
) -> dict[str, Rated]:
    """Benchmarks from ``population`` (supplier_indicators of everyone), then scores and
    grades: the re-rating the worker does when benchmarks move."""
    bench = benchmarks(population, m)
    rated: dict[str, Rated] = {}
    national: set[str] = set()
    groups: dict[str | None, list[float]] = defaultdict(list)  # rated national green factories
    for sid, p in population.items():
        total, tier = score_one(p, bench.get(p["sector_code"], {}), m)
        rated[sid] = Rated(
            total, tier, "", p["values"], p["sector_code"], p["insufficient"], p["verified_share"]
        )
        if p["national"] and not p["insufficient"]:
            national.add(sid)
            groups[p["sector_code"]].append(total)
    ranked = {key: sorted(totals, reverse=True) for key, totals in groups.items()}
    for sid, r in rated.items():
        if r.insufficient:
            r.grade = "insufficient_data"
            continue
        if sid not in national:  # the green code is for national green factories only
            r.grade = "not_eligible"
            continue
        totals = ranked[r.sector_code]
        rank = 1 + _count_greater(totals, r.total_score)
        n = len(totals)
        if rank <= math.ceil(n * m.a_plus_top_share):
            r.grade = "a_plus"
        elif rank <= math.ceil(n * m.a_top_share):
            r.grade = "a"
        else:
            r.grade = "b"
    return rated


def _count_greater(descending: list[float], value: float) -> int:
    """How many entries of a descending list are greater than ``value`` (binary search)."""
    low, high = 0, len(descending)
    while low < high:
        middle = (low + high) // 2
        if descending[middle] > value:
            low = middle + 1
        else:
            high = middle
    return low
