"""Scored frame rows -> SupplierRating messages (explainable: every indicator with its parts)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from greenchain.common.grades import (
    GRADE_BY_NAME,
    LEVEL_BY_NAME,
    TIER_BY_NAME,
    TIERS_BEST_FIRST,
    ZERO_CARBON_BY_NAME,
)
from greenchain.common.ratings import declarations_digest
from greenchain.scoring.model import Methodology
from greenchain.scoring.model.methodology import CATEGORIES, DESIGNATION_LEVELS
from greenchain.scoring.model.rating import ZERO_CARBON_CRITERIA
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2

SOURCES = {
    "sector_table": rating_pb2.BENCHMARK_SOURCE_SECTOR_TABLE,
    "population": rating_pb2.BENCHMARK_SOURCE_POPULATION,
    None: rating_pb2.BENCHMARK_SOURCE_UNSPECIFIED,
}
CATEGORY_ENUM = {c: f"CATEGORY_{c.upper()}" for c in CATEGORIES}  # enum value names


def _period(index: int) -> declaration_pb2.Period:
    year, month0 = divmod(int(index), 12)
    return declaration_pb2.Period(year=year, month=month0 + 1)


def _r(value: float) -> float:
    """Round what is shown so that float noise never counts as a change; -0.0 becomes 0.0
    (polars sums can give either for a sum of zeros, depending on the frame a row was
    rated in, and the two serialize differently)."""
    return round(float(value), 6) + 0.0


def benchmark_version(row: dict[str, Any], m: Methodology) -> str:
    """Names the benchmarks a row was scored against: SHA-256 (16 hex digits) of the methodology
    version and, per indicator, the benchmark and leading values and their source."""
    parts = [m.version]
    for ind in m.indicators:
        parts += [
            repr(row[f"{ind.name}__benchmark"]),
            repr(row[f"{ind.name}__leading"]),
            str(row[f"{ind.name}__source"]),
        ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def next_tier_min_score(tier: str, m: Methodology) -> float | None:
    """The total score the tier above ``tier`` needs; None at the top tier."""
    order = ["not_yet", *reversed(TIERS_BEST_FIRST)]  # worst first
    position = order.index(tier)
    if position + 1 >= len(order):
        return None
    above = order[position + 1]
    return next(t.min_score for t in m.tiers if t.name == above)


def thresholds(m: Methodology) -> list[rating_pb2.Threshold]:
    """Every threshold a rating applies, with its basis."""
    out = []
    for tier in m.tiers:
        out += [
            rating_pb2.Threshold(
                name=f"tier.{tier.name}.min_score", value=tier.min_score, basis=tier.basis
            ),
            rating_pb2.Threshold(
                name=f"tier.{tier.name}.min_verified_share",
                value=tier.min_verified_share,
                basis=tier.basis,
            ),
        ]
    out += [
        rating_pb2.Threshold(
            name="green_code.a_plus_top_share", value=m.a_plus_top_share, basis=m.grades_basis
        ),
        rating_pb2.Threshold(
            name="green_code.a_top_share", value=m.a_top_share, basis=m.grades_basis
        ),
        rating_pb2.Threshold(
            name="coverage.min_months", value=m.min_months, basis="greenchain default"
        ),
        rating_pb2.Threshold(
            name="zero_carbon.min_offset_coverage",
            value=m.zero_carbon_min_offset_coverage,
            basis=m.zero_carbon_basis,
        ),
    ]
    return out


def _criteria_texts(m: Methodology) -> dict[str, tuple[str, str]]:
    """Per zero-carbon criterion: its requirement and basis (the same in every rating)."""
    guidance = m.zero_carbon_basis
    return {
        "green_factory_designation": (
            f"an active green-factory designation at or above {m.zero_carbon_min_level} "
            "(value: 1 municipal, 2 provincial, 3 national)",
            "greenchain default (the guidance fixes no level; provinces may)",
        ),
        "carbon_accounting": (
            "a scope 1+2 carbon accounting system declared in the window (科学算碳)",
            guidance,
        ),
        "product_footprint": (
            "at least one product carbon footprint in the window (value: output share covered)",
            guidance,
        ),
        "scope12_offset": (
            f"retired offsets cover at least {m.zero_carbon_min_offset_coverage:.0%} of scope 1+2 "
            "emissions after renewable electricity (value: share covered)",
            guidance,
        ),
        "disclosure": ("emissions publicly disclosed (信息披露)", guidance),
    }


def _criteria_values(row: dict[str, Any]) -> tuple[float | None, ...]:
    """The value of each zero-carbon criterion of a scored row, in ZERO_CARBON_CRITERIA order."""
    level = row["green_factory_level"]
    return (
        float(DESIGNATION_LEVELS.index(level) + 1) if level else None,
        1.0 if row["accounting_system"] else 0.0,
        row["pcf_coverage"],
        row["offset_coverage"],
        1.0 if row["disclosure_published"] else 0.0,
    )


def zero_carbon_criteria(row: dict[str, Any], m: Methodology) -> list[rating_pb2.Criterion]:
    """The zero-carbon criteria of a scored row, each met or not with its value."""
    texts = _criteria_texts(m)
    out = []
    for name, value in zip(ZERO_CARBON_CRITERIA, _criteria_values(row), strict=True):
        requirement, basis = texts[name]
        criterion = rating_pb2.Criterion(
            name=name, met=bool(row[f"zc_{name}"]), requirement=requirement, basis=basis
        )
        if value is not None:
            criterion.value = _r(value)
        out.append(criterion)
    return out


def _registry_facts(
    rating: rating_pb2.SupplierRating, row: dict[str, Any], supplier: supplier_pb2.Supplier | None
) -> None:
    """Designations per site (with each site's output value), credit code and purchases."""
    outputs = {s["site_id"]: s["output_value_cny"] for s in row["site_output"] or []}
    level = row["green_factory_level"]
    if level:
        rating.green_factory_level = LEVEL_BY_NAME[level]
    if supplier is None:
        return
    rating.credit_code = supplier.credit_code
    rating.purchases.extend(supplier.purchases)
    sites = rating.sites
    for site in supplier.sites:
        # built in place (add): a message built apart would be copied again by append
        status = sites.add(
            site_id=site.site_id, output_value_cny=round(float(outputs.get(site.site_id, 0.0)), 2)
        )
        if site.HasField("green_factory"):
            status.green_factory.CopyFrom(site.green_factory)
        if site.HasField("zero_carbon_factory"):
            status.zero_carbon_factory.CopyFrom(site.zero_carbon_factory)


class RatingTemplate:
    """What every rating of a methodology shares (thresholds, indicator and category
    descriptions, criteria texts), built once: a rating starts as a copy of it, which is much
    cheaper than building those messages per rating."""

    def __init__(self, m: Methodology) -> None:
        self.m = m
        base = rating_pb2.SupplierRating(methodology_version=m.version)
        base.coverage.window_months = m.window_months
        base.thresholds.extend(thresholds(m))
        for ind in m.indicators:
            base.indicators.add(
                indicator=ind.name,
                category=CATEGORY_ENUM[ind.category],
                unit=ind.unit,
                lower_is_better=ind.lower_is_better,
                max_points=_r(ind.max_points),
            )
        for category in CATEGORIES:
            base.categories.add(
                category=CATEGORY_ENUM[category], weight=m.category_weights[category]
            )
        texts = _criteria_texts(m)
        for name in ZERO_CARBON_CRITERIA:
            requirement, basis = texts[name]
            base.zero_carbon_criteria.add(name=name, requirement=requirement, basis=basis)
        self.base = base
        # per indicator: its column names, read for every rating
        self.columns = [
            (ind.name, f"{ind.name}__points", f"{ind.name}__benchmark", f"{ind.name}__leading",
             f"{ind.name}__source")
            for ind in m.indicators
        ]  # fmt: skip
        self.met_columns = [f"zc_{name}" for name in ZERO_CARBON_CRITERIA]
        self.category_columns = [f"{category}__points" for category in CATEGORIES]
        # readiness tier -> the total score the tier above needs (None at the top)
        self.next_min = {t: next_tier_min_score(t, m) for t in ("not_yet", *TIERS_BEST_FIRST)}
        self._versioned: dict[str, rating_pb2.SupplierRating] = {}

    def new(
        self, row: dict[str, Any] | None = None, version: str | None = None
    ) -> rating_pb2.SupplierRating:
        """A new rating holding what every rating shares; with ``version`` (the
        :func:`benchmark_version` of ``row``, which names exactly these values) also that version
        and each indicator's benchmark and leading value (rounded) and source, read from ``row``
        the first time: the same for every row of a sector and snapshot, so set once each."""
        base = self.base
        if version is not None:
            known = self._versioned.get(version)
            if known is None:
                if row is None:
                    raise ValueError(f"benchmark version {version} not seen yet: pass its row")
                if len(self._versioned) >= 4096:  # old snapshots' versions: rebuilt if met again
                    self._versioned.clear()
                known = self._versioned[version] = self._with_benchmarks(row, version)
            base = known
        rating = rating_pb2.SupplierRating()
        rating.CopyFrom(base)
        return rating

    def _with_benchmarks(self, row: dict[str, Any], version: str) -> rating_pb2.SupplierRating:
        versioned = rating_pb2.SupplierRating()
        versioned.CopyFrom(self.base)
        versioned.benchmark_version = version
        for score, (_, _, bench, leading, source) in zip(
            versioned.indicators, self.columns, strict=True
        ):
            score.benchmark_value = round(float(row[bench] or 0.0), 6)
            score.leading_value = round(float(row[leading] or 0.0), 6)
            score.benchmark_source = SOURCES[row[source]]
        return versioned


def rating_from_row(
    row: dict[str, Any],
    m: Methodology,
    as_of: datetime | None = None,
    supplier: supplier_pb2.Supplier | None = None,
    template: RatingTemplate | None = None,
) -> rating_pb2.SupplierRating:
    """The rating of one row of ``model.score`` (revision and change are set by the caller);
    ``supplier`` (the registry entry) adds designations, credit code and purchases;
    ``template`` (of ``m``) saves rebuilding what every rating shares."""
    rating = rating_core(row, template or RatingTemplate(m), supplier)
    rating.as_of.FromDatetime(as_of or datetime.now(UTC))
    return rating


def rating_core(
    row: dict[str, Any],
    template: RatingTemplate,
    supplier: supplier_pb2.Supplier | None = None,
    version: str | None = None,
) -> rating_pb2.SupplierRating:
    """:func:`rating_from_row` without the fields that change with every emission (``as_of``,
    revision, change): what a rating's fingerprint is of, so it is the SHA-256 of these bytes
    (deterministic). ``version``: the row's :func:`benchmark_version` when already known (it is
    the same for every row of a sector)."""
    m = template.m
    version = version or benchmark_version(row, m)
    rating = template.new(row, version)  # with the benchmarks the version names
    rating.supplier_id = row["supplier_id"]
    rating.supplier_name = row["supplier_name"] or ""
    rating.sector_code = row["sector_code"] or ""
    rating.chain_ids.extend(row["chain_ids"] or [])
    rating.window_start.CopyFrom(_period(row["window_start"]))
    rating.window_end.CopyFrom(_period(row["window_end"]))
    rating.total_score = _r(row["total_score"])
    rating.grade = GRADE_BY_NAME[row["grade"]]
    rating.readiness_tier = TIER_BY_NAME[row["readiness_tier"]]
    rating.zero_carbon_candidate = bool(row["zero_carbon_candidate"])
    rating.zero_carbon_status = ZERO_CARBON_BY_NAME[row["zero_carbon_status"]]
    coverage = rating.coverage
    coverage.months_present = int(row["months_present"])
    coverage.verified_share = _r(row["verified_share"] or 0.0)
    coverage.declarations_used = int(row["declarations_used"])
    rating.declarations_digest = declarations_digest(row["declaration_ids"])
    rating.insufficient_reasons.extend(row["insufficient_reasons"])
    rating.output_value_cny = round(float(row["output_value_cny"] or 0.0), 2)
    next_min = template.next_min[row["readiness_tier"]]
    if next_min is not None:
        rating.next_tier_min_score = next_min
    if row["sector_percentile"] is not None:
        rating.sector_percentile = _r(row["sector_percentile"])
    values = _criteria_values(row)
    for criterion, met, value in zip(
        rating.zero_carbon_criteria, template.met_columns, values, strict=True
    ):
        criterion.met = bool(row[met])
        if value is not None:
            criterion.value = _r(value)
    _registry_facts(rating, row, supplier)
    for score, (name, points, _, _, _) in zip(rating.indicators, template.columns, strict=True):
        score.points = _r(row[points])
        value = row[name]
        if value is not None:
            score.value = _r(value)
    for category_score, column in zip(rating.categories, template.category_columns, strict=True):
        category_score.points = _r(row[column])
    return rating
