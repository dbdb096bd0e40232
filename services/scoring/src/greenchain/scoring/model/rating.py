"""The green rating as polars transformations (pure: frames in, frames out, no I/O).

    declarations ──supplier_indicators──► one row per supplier: window, coverage, indicator values
    population   ──snapshot────────────► per sector: population statistics for benchmarks, and
                                           the ranks (percentile bounds, green-code thresholds)
    any subset + snapshot ──score──────► points, category scores, total, readiness tier,
                                           green code (national green factories), sector
                                           percentile, zero-carbon criteria

``rate`` = score(indicators, snapshot(indicators)): the ratings a settled population gets. The
scoring service scores the suppliers a micro-batch touched against the current snapshot, so its
cost follows the batch, not the population.

docs/methodology.md states every formula; the worked example there is a test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from greenchain.scoring.model.methodology import CATEGORIES, DESIGNATION_LEVELS, Methodology

# Input schemas ---------------------------------------------------------------------------------

POLLUTANTS = ("so2", "nox", "particulates", "cod", "ammonia_nitrogen")
"""Declared in t per site and month; scored as intensity ``<pollutant>_intensity``."""

DECLARATION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "supplier_id": pl.Utf8,
    "site_id": pl.Utf8,
    "period": pl.Int32,  # months since year 0: year * 12 + month - 1
    # emissions | energy | circularity | product_footprint | offsets | carbon_management
    "kind": pl.Utf8,
    "declaration_id": pl.Utf8,
    "verified": pl.Boolean,
    # emissions
    "scope1_tco2e": pl.Float64,
    "scope2_market_tco2e": pl.Float64,
    "output_value_cny": pl.Float64,
    # energy
    "electricity_kwh": pl.Float64,
    "renewable_kwh": pl.Float64,  # on-site + certificates + PPA
    "market_renewable_kwh": pl.Float64,  # of which market-traded: certificates + PPA
    "natural_gas_m3": pl.Float64,
    "coal_t": pl.Float64,
    "gasoline_t": pl.Float64,
    "diesel_t": pl.Float64,
    "fuel_oil_t": pl.Float64,
    "oil_products_t": pl.Float64,  # other oil products
    "purchased_heat_gj": pl.Float64,
    "grid_region": pl.Utf8,
    # circularity
    "raw_material_input_t": pl.Float64,
    "recycled_input_t": pl.Float64,
    "solid_waste_generated_t": pl.Float64,
    "solid_waste_utilised_t": pl.Float64,
    "hazardous_waste_t": pl.Float64,
    "water_withdrawn_m3": pl.Float64,
    "water_reused_m3": pl.Float64,
    # pollutants (null: not declared)
    **{f"{p}_t": pl.Float64 for p in POLLUTANTS},
    # product footprint
    "product_id": pl.Utf8,
    "primary_data_share": pl.Float64,
    "output_value_share": pl.Float64,
    # offsets (retired against scope 1+2)
    "offset_ccer_tco2e": pl.Float64,
    "offset_certificates_mwh": pl.Float64,
    # carbon management
    "accounting_system": pl.Boolean,
    "disclosure_published": pl.Boolean,
}

WINDOW_KINDS = ("emissions", "energy")
"""The declaration kinds whose latest month ends the window (a later footprint, circularity or
offsets declaration never moves it, so it never shrinks coverage)."""

SUPPLIER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "supplier_id": pl.Utf8,
    "supplier_name": pl.Utf8,
    "sector_code": pl.Utf8,
    "region": pl.Utf8,
    "land_area_m2": pl.Float64,
    "chain_ids": pl.List(pl.Utf8),
    # best active green-factory designation over the supplier's sites (registry):
    # national | provincial | municipal | null
    "green_factory_level": pl.Utf8,
    "zero_carbon_designated": pl.Boolean,  # a site with an active zero-carbon designation
    # each site's province (Site.region): selects the regional grid factor
    "site_regions": pl.List(pl.Struct({"site_id": pl.Utf8, "region": pl.Utf8})),
}

INSUFFICIENT = "insufficient_data"
NOT_ELIGIBLE = "not_eligible"  # rated, but no green code: not a national green factory


def _sum(column: str, kind: str) -> pl.Expr:
    return pl.col(column).filter(pl.col("kind") == kind).fill_null(0.0).sum()


# 1. Indicators per supplier ---------------------------------------------------------------------


def _site_regions(suppliers: pl.DataFrame) -> pl.LazyFrame:
    """(supplier_id, site_id, region) of every registered site."""
    return (
        suppliers.lazy()
        .select("supplier_id", "site_regions")
        .explode("site_regions")
        .unnest("site_regions")
        .filter(pl.col("site_id").is_not_null())
    )


def grid_factor(m: Methodology) -> pl.Expr:
    """tCO2/MWh for the grid electricity of an energy row (MEE 2023 factors):

    - the declaration deducts market-traded green power (certificates or PPAs): the national
      factor excluding market-traded non-fossil power, so nothing is counted twice;
    - else the regional factor of the site's province (registry), or of the declared grid
      region where the site has no province;
    - else the national average.
    """
    f = m.factors
    regional = {str(k): float(v) for k, v in f["grid_tco2_per_mwh_by_region"].items()}
    province_region = {str(k): str(v) for k, v in f["province_grid_region"].items()}
    region = pl.coalesce(
        pl.col("region").str.to_lowercase().replace_strict(province_region, default=None),
        pl.col("grid_region").str.to_lowercase(),
    )
    return (
        pl.when(pl.col("market_renewable_kwh").fill_null(0.0) > 0)
        .then(pl.lit(f["grid_residual_tco2_per_mwh"]))
        .otherwise(
            region.replace_strict(regional, default=None, return_dtype=pl.Float64).fill_null(
                f["grid_tco2_per_mwh"]
            )
        )
    )


def supplier_indicators(
    declarations: pl.DataFrame, suppliers: pl.DataFrame, m: Methodology
) -> pl.DataFrame:
    """One row per supplier with declarations: window, coverage, every indicator's value."""
    f = m.factors
    decl = declarations.lazy()
    # The window ends with the latest month of emissions or energy data (else of any data, so a
    # supplier with nothing else still gets an explicit insufficient-data rating).
    window_end = decl.group_by("supplier_id").agg(
        pl.coalesce(
            pl.col("period").filter(pl.col("kind").is_in(WINDOW_KINDS)).max(),
            pl.col("period").max(),
        ).alias("window_end")
    )
    in_window = (
        decl.join(window_end, on="supplier_id")
        .filter(
            (pl.col("period") > pl.col("window_end") - m.window_months)
            & (pl.col("period") <= pl.col("window_end"))
        )
        .join(_site_regions(suppliers), on=["supplier_id", "site_id"], how="left")
        .with_columns(grid_factor=grid_factor(m))
    )
    # A month counts when the supplier declared both emissions (output value) and energy for it.
    months = (
        in_window.filter(pl.col("kind").is_in(["emissions", "energy"]))
        .group_by("supplier_id", "period")
        .agg(pl.col("kind").n_unique().alias("kinds"))
        .filter(pl.col("kinds") == 2)
        .group_by("supplier_id")
        .agg(pl.len().cast(pl.Int32).alias("months_present"))
    )
    emission_months = (
        in_window.filter(pl.col("kind") == "emissions")
        .group_by("supplier_id")
        .agg(pl.col("period").n_unique().alias("emission_months"))
    )
    # Output value per site, annualised like the supplier's (so the sites add up to it).
    site_output = (
        in_window.filter(pl.col("kind") == "emissions")
        .group_by("supplier_id", "site_id")
        .agg(pl.col("output_value_cny").fill_null(0.0).sum().alias("site_window_cny"))
        .join(emission_months, on="supplier_id")
        .with_columns(
            (pl.col("site_window_cny") * 12 / pl.col("emission_months")).alias("output_value_cny")
        )
        .sort("site_id")
        .group_by("supplier_id")
        .agg(pl.struct("site_id", "output_value_cny").alias("site_output"))
    )
    # Latest footprint per product in the window: coverage and primary-data share.
    products = (
        in_window.filter(pl.col("kind") == "product_footprint")
        .sort("period")
        .group_by("supplier_id", "product_id")
        .agg(pl.col("output_value_share").last(), pl.col("primary_data_share").last())
        .group_by("supplier_id")
        .agg(
            pl.col("output_value_share").sum().clip(upper_bound=1.0).alias("pcf_coverage"),
            (
                (pl.col("primary_data_share") * pl.col("output_value_share")).sum()
                / pl.col("output_value_share").sum()
            ).alias("pcf_primary_data_share"),
        )
    )
    electricity_mwh = _sum("electricity_kwh", "energy") / 1000
    grid_mwh = (
        (pl.col("electricity_kwh") - pl.col("renewable_kwh").fill_null(0.0)).clip(lower_bound=0.0)
        / 1000
    ).filter(pl.col("kind") == "energy")
    totals = in_window.group_by("supplier_id").agg(
        pl.col("window_end").first(),
        pl.col("declaration_id").sort().alias("declaration_ids"),
        pl.len().cast(pl.Int32).alias("declarations_used"),
        pl.col("verified").mean().alias("verified_share"),
        _sum("output_value_cny", "emissions").alias("output_window_cny"),
        (
            electricity_mwh * f["electricity_tce_per_mwh"]
            + _sum("natural_gas_m3", "energy") / 1000 * f["natural_gas_tce_per_1000m3"]
            + _sum("coal_t", "energy") * f["raw_coal_tce_per_t"]
            + _sum("gasoline_t", "energy") * f["gasoline_tce_per_t"]
            + _sum("diesel_t", "energy") * f["diesel_tce_per_t"]
            + _sum("fuel_oil_t", "energy") * f["fuel_oil_tce_per_t"]
            + _sum("oil_products_t", "energy") * f["oil_products_tce_per_t"]
            + _sum("purchased_heat_gj", "energy") * f["heat_tce_per_gj"]
        ).alias("energy_tce"),
        (
            _sum("scope1_tco2e", "emissions")
            + (
                grid_mwh.fill_null(0.0) * pl.col("grid_factor").filter(pl.col("kind") == "energy")
            ).sum()
        ).alias("carbon_tco2e"),
        (_sum("renewable_kwh", "energy") / _sum("electricity_kwh", "energy")).alias(
            "renewable_share"
        ),
        _sum("water_withdrawn_m3", "circularity").alias("water_m3"),
        (_sum("water_reused_m3", "circularity") / _sum("water_withdrawn_m3", "circularity")).alias(
            "water_reuse_rate"
        ),
        (
            _sum("solid_waste_utilised_t", "circularity")
            / _sum("solid_waste_generated_t", "circularity")
        ).alias("solid_waste_utilisation"),
        (
            _sum("recycled_input_t", "circularity") / _sum("raw_material_input_t", "circularity")
        ).alias("recycled_input_share"),
        _sum("hazardous_waste_t", "circularity").alias("hazardous_t"),
        # a pollutant counts when some circularity declaration of the window declares it
        *(
            pl.when(pl.col(f"{p}_t").filter(pl.col("kind") == "circularity").is_not_null().any())
            .then(_sum(f"{p}_t", "circularity"))
            .alias(f"{p}_total_t")
            for p in POLLUTANTS
        ),
        (pl.col("kind") == "circularity").any().alias("has_circularity"),
        (pl.col("kind") == "energy").any().alias("has_energy"),
        # zero-carbon inputs: retired offsets, accounting and disclosure in the window
        (
            _sum("offset_ccer_tco2e", "offsets")
            + _sum("offset_certificates_mwh", "offsets") * f["grid_tco2_per_mwh"]
        ).alias("offsets_tco2e"),
        pl.col("accounting_system")
        .filter(pl.col("kind") == "carbon_management")
        .any()
        .fill_null(False)
        .alias("accounting_system"),
        pl.col("disclosure_published")
        .filter(pl.col("kind") == "carbon_management")
        .any()
        .fill_null(False)
        .alias("disclosure_published"),
    )
    output_10k = pl.col("output_window_cny") / 1e4

    def per_output(column: str) -> pl.Expr:
        return pl.when(output_10k > 0).then(pl.col(column) / output_10k)

    def nan_to_null(column: str) -> pl.Expr:  # 0/0 -> no value, not NaN
        return pl.col(column).fill_nan(None)

    frame = (
        totals.join(months, on="supplier_id", how="left")
        .join(emission_months, on="supplier_id", how="left")
        .join(products, on="supplier_id", how="left")
        .join(site_output, on="supplier_id", how="left")
        .join(suppliers.lazy(), on="supplier_id", how="left")
        .with_columns(
            pl.col("months_present").fill_null(0),
            pl.col("pcf_coverage").fill_null(0.0),
            pl.col("pcf_primary_data_share").fill_null(0.0),
            # annualised output value (CNY) from the months with an emissions declaration
            (pl.col("output_window_cny") * 12 / pl.col("emission_months"))
            .fill_null(0.0)
            .alias("output_value_cny"),
            # share of scope 1+2 (after renewable electricity) covered by retired offsets
            pl.when(pl.col("carbon_tco2e") > 0)
            .then(pl.col("offsets_tco2e") / pl.col("carbon_tco2e"))
            .otherwise(pl.when(pl.col("has_energy")).then(1.0))
            .alias("offset_coverage"),
        )
        .with_columns(
            per_output("energy_tce").alias("energy_intensity"),
            per_output("carbon_tco2e").alias("carbon_intensity"),
            pl.when(pl.col("has_circularity"))
            .then(per_output("water_m3"))
            .alias("water_intensity"),
            pl.when(pl.col("has_circularity"))
            .then(per_output("hazardous_t"))
            .alias("hazardous_waste_intensity"),
            *(per_output(f"{p}_total_t").alias(f"{p}_intensity") for p in POLLUTANTS),
            pl.when(pl.col("land_area_m2") > 0)
            .then(pl.col("output_value_cny") / 1e4 / pl.col("land_area_m2"))
            .alias("land_output"),
            *(
                nan_to_null(c).alias(c)
                for c in (
                    "renewable_share",
                    "water_reuse_rate",
                    "solid_waste_utilisation",
                    "recycled_input_share",
                )
            ),
        )
        .with_columns(
            pl.concat_list(
                pl.when(pl.col("sector_code").is_null()).then(
                    pl.lit("supplier is not in the registry")
                ),
                pl.when(pl.col("months_present") < m.min_months).then(
                    pl.format(
                        "{} month(s) with emissions and energy data; at least {} needed",
                        pl.col("months_present"),
                        pl.lit(m.min_months),
                    )
                ),
                pl.when(pl.col("output_value_cny") <= 0).then(pl.lit("no output value declared")),
            )
            .list.drop_nulls()
            .alias("insufficient_reasons")
        )
        .with_columns(
            (pl.col("window_end") - (m.window_months - 1)).alias("window_start"),
            (pl.col("insufficient_reasons").list.len() > 0).alias("insufficient"),
        )
    )
    keep = [
        "supplier_id",
        "supplier_name",
        "sector_code",
        "chain_ids",
        "window_start",
        "window_end",
        "months_present",
        "verified_share",
        "declarations_used",
        "declaration_ids",
        "output_value_cny",
        "site_output",
        "insufficient",
        "insufficient_reasons",
        "green_factory_level",
        "zero_carbon_designated",
        "offsets_tco2e",
        "carbon_tco2e",
        "offset_coverage",
        "accounting_system",
        "disclosure_published",
        *(i.name for i in m.indicators),
    ]
    return frame.select(keep).sort("supplier_id").collect()


# 2. Benchmarks -----------------------------------------------------------------------------------

SOURCE_TABLE, SOURCE_POPULATION = "sector_table", "population"


def population_stats(population: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """What the population contributes to benchmarks: per sector, and pooled over all sectors
    (the row whose ``sector_code`` is null), for each indicator ``<name>__pop_benchmark``
    (median), ``<name>__pop_leading`` (5th/95th-percentile-best), both rounded to
    ``population_significant_figures``, and ``<name>__pop_n`` (rated suppliers with a value)."""
    rated = population.filter(~pl.col("insufficient"))
    aggs: list[pl.Expr] = []
    for ind in m.indicators:
        best_q = 0.05 if ind.lower_is_better else 0.95
        values = pl.col(ind.name).drop_nulls()
        digits = m.population_significant_figures
        aggs += [
            values.median().round_sig_figs(digits).alias(f"{ind.name}__pop_benchmark"),
            values.quantile(best_q, interpolation="linear")
            .round_sig_figs(digits)
            .alias(f"{ind.name}__pop_leading"),
            values.len().cast(pl.Int64).alias(f"{ind.name}__pop_n"),
        ]
    by_sector = rated.filter(pl.col("sector_code").is_not_null()).group_by("sector_code").agg(aggs)
    pooled = rated.select(aggs).with_columns(pl.lit(None, pl.Utf8).alias("sector_code"))
    return pl.concat([by_sector, pooled.select(by_sector.columns)]).sort(
        "sector_code", nulls_last=True
    )


def resolve_benchmarks(
    sectors: list[str], stats: pl.DataFrame | None, m: Methodology
) -> pl.DataFrame:
    """Per sector in ``sectors``, for each indicator ``<name>__benchmark``, ``<name>__leading``
    and ``<name>__source``: the sector table, else the defaults, else the sector's population
    (``stats`` from :func:`population_stats`) if it has ``min_population`` values, else the
    pooled population, else none (no points)."""
    by_sector: dict[str | None, dict[str, Any]] = {}
    if stats is not None:
        by_sector = {row["sector_code"]: row for row in stats.iter_rows(named=True)}
    pooled = by_sector.get(None, {})
    rows: list[dict[str, object]] = []
    for sector in sorted(set(sectors)):
        own = by_sector.get(sector, {})
        row: dict[str, object] = {"sector_code": sector}
        for ind in m.indicators:
            configured = m.sectors.get(sector, {}).get(ind.name) or m.defaults.get(ind.name)
            name = ind.name
            value: tuple[object, object, str | None]
            if configured:
                value = (float(configured["benchmark"]), float(configured["leading"]), SOURCE_TABLE)
            elif int(own.get(f"{name}__pop_n") or 0) >= m.min_population:
                value = (
                    own[f"{name}__pop_benchmark"],
                    own[f"{name}__pop_leading"],
                    SOURCE_POPULATION,
                )
            elif int(pooled.get(f"{name}__pop_n") or 0) >= m.min_population:
                value = (
                    pooled[f"{name}__pop_benchmark"],
                    pooled[f"{name}__pop_leading"],
                    SOURCE_POPULATION,
                )
            else:
                value = (None, None, None)
            row[f"{name}__benchmark"], row[f"{name}__leading"], row[f"{name}__source"] = value
        rows.append(row)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"sector_code": pl.Utf8}
    for ind in m.indicators:
        schema |= {
            f"{ind.name}__benchmark": pl.Float64,
            f"{ind.name}__leading": pl.Float64,
            f"{ind.name}__source": pl.Utf8,
        }
    return pl.DataFrame(rows, schema=schema)


# 3. Points, total, tier, grade --------------------------------------------------------------------


def _fraction(
    value: pl.Expr, benchmark: pl.Expr, leading: pl.Expr, lower_is_better: bool
) -> pl.Expr:
    """Linear from benchmark (0) to leading (1), clamped; 0 without a value or benchmark."""
    at_least_leading = value <= leading if lower_is_better else value >= leading
    return (
        pl.when(value.is_null() | benchmark.is_null() | leading.is_null())
        .then(0.0)
        .when(benchmark == leading)
        .then(pl.when(at_least_leading).then(1.0).otherwise(0.0))
        .otherwise(((value - benchmark) / (leading - benchmark)).clip(0.0, 1.0))
    )


def points(indicators: pl.DataFrame, bench: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """Adds the sector's benchmarks, ``<indicator>__points``, ``<category>__points`` and
    ``total_score`` to ``indicators`` (needs the indicator columns, ``sector_code`` and
    ``insufficient`` only)."""
    frame = indicators.join(bench, on="sector_code", how="left")
    frame = frame.with_columns(
        (
            _fraction(
                pl.col(i.name),
                pl.col(f"{i.name}__benchmark"),
                pl.col(f"{i.name}__leading"),
                i.lower_is_better,
            )
            * i.max_points
        ).alias(f"{i.name}__points")
        for i in m.indicators
    )
    return frame.with_columns(
        pl.sum_horizontal(
            [pl.col(f"{i.name}__points") for i in m.indicators if i.category == c]
        ).alias(f"{c}__points")
        for c in CATEGORIES
    ).with_columns(
        pl.when(pl.col("insufficient"))
        .then(0.0)
        .otherwise(pl.sum_horizontal([pl.col(f"{c}__points") for c in CATEGORIES]))
        .round(4)
        .alias("total_score")
    )


def standing(frame: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """Adds ``readiness_tier`` and the zero-carbon criteria and status (:func:`zero_carbon`) to
    scored ``frame``: what follows from the supplier's own total and data."""
    tier = pl.lit("not_yet")
    for t in reversed(m.tiers):  # lowest first, so the best matching tier is applied last
        tier = (
            pl.when(
                (pl.col("total_score") >= t.min_score)
                & (pl.col("verified_share") >= t.min_verified_share)
            )
            .then(pl.lit(t.name))
            .otherwise(tier)
        )
    frame = frame.with_columns(
        pl.when(pl.col("insufficient"))
        .then(pl.lit("not_yet"))
        .otherwise(tier)
        .alias("readiness_tier")
    )
    return zero_carbon(frame, m)


ZERO_CARBON_CRITERIA = (
    "green_factory_designation",
    "carbon_accounting",
    "product_footprint",
    "scope12_offset",
    "disclosure",
)
"""The criteria of the zero-carbon factory status, in the order ratings list them."""


def _level_rank(column: str) -> pl.Expr:
    """Designation level as a number: municipal 1, provincial 2, national 3, none 0."""
    return (
        pl.col(column)
        .cast(pl.Utf8)
        .replace_strict(
            {level: rank for rank, level in enumerate(DESIGNATION_LEVELS, 1)},
            default=0,
            return_dtype=pl.Int8,
        )
        .fill_null(0)
    )


def zero_carbon(frame: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """``zc_<criterion>`` (met?) for every criterion, ``zero_carbon_status`` (designated |
    criteria_met | not_met) and ``zero_carbon_candidate`` (criteria met, or designated)."""
    min_rank = DESIGNATION_LEVELS.index(m.zero_carbon_min_level) + 1
    frame = frame.with_columns(
        (_level_rank("green_factory_level") >= min_rank).alias("zc_green_factory_designation"),
        pl.col("accounting_system").fill_null(False).alias("zc_carbon_accounting"),
        (pl.col("pcf_coverage") > 0).fill_null(False).alias("zc_product_footprint"),
        (pl.col("offset_coverage") >= m.zero_carbon_min_offset_coverage - 1e-9)
        .fill_null(False)
        .alias("zc_scope12_offset"),
        pl.col("disclosure_published").fill_null(False).alias("zc_disclosure"),
    )
    all_met = pl.all_horizontal([pl.col(f"zc_{c}") for c in ZERO_CARBON_CRITERIA]) & ~pl.col(
        "insufficient"
    )
    status = (
        pl.when(pl.col("zero_carbon_designated").fill_null(False))
        .then(pl.lit("designated"))
        .when(all_met)
        .then(pl.lit("criteria_met"))
        .otherwise(pl.lit("not_met"))
    )
    return frame.with_columns(status.alias("zero_carbon_status")).with_columns(
        (pl.col("zero_carbon_status") != "not_met").alias("zero_carbon_candidate")
    )


RANKS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "sector_code": pl.Utf8,
    "rated": pl.Int64,  # rated suppliers of the sector
    # b_k = the ceil(k x rated / 100)-th lowest total, k = 1..100: the percentile band of a total
    # t is the number of b_k below t, i.e. floor(100 x (rated totals below t) / rated)
    "percentile_bounds": pl.List(pl.Float64),
    "national": pl.Int64,  # rated national green factories of the sector
    "a_plus_min_total": pl.Float64,  # lowest total still ranked A+ (+inf: none; -inf: anyone)
    "a_min_total": pl.Float64,  # lowest total still ranked A
}


def _rank_threshold(descending_totals: list[float], share: float) -> float:
    """The lowest total whose rank (1 = best, ties share the best rank) is within
    ceil(share x n): the ceil(share x n)-th highest total."""
    n = len(descending_totals)
    if n == 0:
        return float("-inf")  # nobody to rank against: the first one ranks 1st
    places = math.ceil(n * share)
    return descending_totals[places - 1] if places > 0 else float("inf")


def ranks(scored: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """Per sector, what a supplier's place among the rated suppliers of its sector depends on
    (:data:`RANKS_SCHEMA`): 100 percentile bounds and the green code's two thresholds, so that
    a supplier's percentile band and code are a search in them, not a re-rank of the sector."""
    rated = scored.filter(~pl.col("insufficient") & pl.col("sector_code").is_not_null())
    national = (pl.col("green_factory_level") == "national").fill_null(False)
    groups = rated.group_by("sector_code").agg(
        pl.col("total_score").sort().alias("totals"),
        pl.col("total_score").filter(national).sort(descending=True).alias("national_totals"),
    )
    rows = []
    for sector, totals, national_totals in groups.sort("sector_code").iter_rows():
        n = len(totals)
        rows.append(
            {
                "sector_code": sector,
                "rated": n,
                "percentile_bounds": [totals[(k * n + 99) // 100 - 1] for k in range(1, 101)],
                "national": len(national_totals),
                "a_plus_min_total": _rank_threshold(national_totals, m.a_plus_top_share),
                "a_min_total": _rank_threshold(national_totals, m.a_top_share),
            }
        )
    return pl.DataFrame(rows, schema=RANKS_SCHEMA)


def grade(frame: pl.DataFrame, sector_ranks: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """The enterprise green code for national green factories only: ranked by total among the
    rated national green factories of the sector, A+ if rank <= ceil(5 % x n), A if rank <=
    ceil(40 % x n), else B. Every other rated supplier is ``not_eligible``. Every rated supplier
    gets ``sector_percentile``: the share of its sector's rated suppliers with a lower total, in
    whole percentage points (rounded down). Both against ``sector_ranks`` (:func:`ranks`); a
    sector absent from them ranks the supplier alone (A+, percentile 0)."""
    rated = ~pl.col("insufficient")
    national = rated & (pl.col("green_factory_level") == "national").fill_null(False)
    thresholds = sector_ranks.select("sector_code", "a_plus_min_total", "a_min_total")
    joined = frame.join(thresholds, on="sector_code", how="left")
    a_plus_min = pl.col("a_plus_min_total").fill_null(float("-inf"))
    a_min = pl.col("a_min_total").fill_null(float("-inf"))
    graded = joined.with_columns(
        pl.when(~rated)
        .then(pl.lit(INSUFFICIENT))
        .when(~national)
        .then(pl.lit(NOT_ELIGIBLE))
        .when(pl.col("total_score") >= a_plus_min)
        .then(pl.lit("a_plus"))
        .when(pl.col("total_score") >= a_min)
        .then(pl.lit("a"))
        .otherwise(pl.lit("b"))
        .alias("grade"),
    ).drop("a_plus_min_total", "a_min_total")
    return graded.with_columns(_percentile_bands(graded, sector_ranks))


def _percentile_bands(frame: pl.DataFrame, sector_ranks: pl.DataFrame) -> pl.Series:
    """``sector_percentile`` of every row (null when not rated): a binary search of the row's
    total in its sector's 100 bounds, one search per sector present in ``frame``."""
    bands = pl.Series("sector_percentile", [None] * frame.height, dtype=pl.Float64)
    bounds = dict(sector_ranks.select("sector_code", "percentile_bounds").iter_rows())
    groups = (
        frame.with_row_index("_row")
        .filter(~pl.col("insufficient") & pl.col("sector_code").is_not_null())
        .group_by("sector_code")
        .agg("_row", "total_score")
    )
    for sector, rows, totals in groups.iter_rows():
        if sector in bounds:
            found = pl.Series(bounds[sector]).search_sorted(pl.Series(totals), side="left")
        else:
            found = pl.Series([0] * len(totals))
        bands.scatter(rows, found.cast(pl.Float64))
    return bands


@dataclass(frozen=True)
class Snapshot:
    """What a supplier's rating depends on besides its own data: the population's benchmark
    statistics (:func:`population_stats`) and the sector ranks (:func:`ranks`). A rating is a
    function of (the supplier's declarations, its registry entry, the snapshot)."""

    stats: pl.DataFrame | None = None
    ranks: pl.DataFrame | None = None

    @property
    def sector_ranks(self) -> pl.DataFrame:
        return self.ranks if self.ranks is not None else pl.DataFrame(schema=RANKS_SCHEMA)


def snapshot(population: pl.DataFrame, m: Methodology) -> Snapshot:
    """The snapshot of a population (supplier_indicators of every supplier)."""
    stats = population_stats(population, m)
    sectors = population.get_column("sector_code").drop_nulls().unique().to_list()
    scored = points(population, resolve_benchmarks(sectors, stats, m), m)
    return Snapshot(stats, ranks(scored, m))


POPULATION_COLUMNS = ("supplier_id", "sector_code", "insufficient", "green_factory_level")
"""With the indicator columns, what :func:`snapshot` reads of a population."""


def score(indicators: pl.DataFrame, snap: Snapshot, m: Methodology) -> pl.DataFrame:
    """The scored rows of ``indicators`` (any subset of the population) against ``snap``:
    :func:`points`, :func:`standing`, then the green code and percentile (:func:`grade`)."""
    sectors = indicators.get_column("sector_code").drop_nulls().unique().to_list()
    bench = resolve_benchmarks(sectors, snap.stats, m)
    return grade(standing(points(indicators, bench, m), m), snap.sector_ranks, m)


def rate(declarations: pl.DataFrame, suppliers: pl.DataFrame, m: Methodology) -> pl.DataFrame:
    """Indicators, the snapshot of this population and scores in one call: what the scoring
    service settles on for the same declarations and registry."""
    indicators = supplier_indicators(declarations, suppliers, m)
    return score(indicators, snapshot(indicators, m), m)
