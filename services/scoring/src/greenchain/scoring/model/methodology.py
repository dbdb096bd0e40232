"""The rating methodology: weights, factors, benchmarks and thresholds from one versioned YAML.

The file is validated by a schema (pydantic, unknown keys refused): a mistake is reported as
:class:`MethodologyError` naming the file and the key, never as a traceback from deep inside the
model.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from greenchain.common.grades import LEVEL_BY_NAME, TIERS_BEST_FIRST

CATEGORIES = (
    "low_carbon_energy",
    "resource_efficiency",
    "clean_production",
    "green_products",
    "intensive_land_use",
)
DESIGNATION_LEVELS = tuple(LEVEL_BY_NAME)  # municipal, provincial, national: lowest first
GridRegion = Literal["north", "northeast", "east", "central", "northwest", "south", "southwest"]
GRID_REGIONS: tuple[str, ...] = get_args(GridRegion)

Category = Literal[
    "low_carbon_energy",
    "resource_efficiency",
    "clean_production",
    "green_products",
    "intensive_land_use",
]
Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class MethodologyError(ValueError):
    """A methodology file that cannot be used; the message names the file and the key."""


# The file's schema ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactorsSpec(_Strict):
    electricity_tce_per_mwh: Positive
    raw_coal_tce_per_t: Positive
    gasoline_tce_per_t: Positive
    diesel_tce_per_t: Positive
    fuel_oil_tce_per_t: Positive
    oil_products_tce_per_t: Positive
    heat_tce_per_gj: Positive
    natural_gas_tce_per_1000m3: Positive
    grid_tco2_per_mwh: Positive
    grid_residual_tco2_per_mwh: Positive
    grid_tco2_per_mwh_by_region: dict[GridRegion, Positive]
    province_grid_region: dict[str, GridRegion]


class IndicatorSpec(_Strict):
    category: Category
    unit: str
    lower_is_better: bool
    share: Share


class RangeSpec(_Strict):
    benchmark: float
    leading: float


class TierSpec(_Strict):
    min_score: Annotated[float, Field(ge=0, le=100)]
    min_verified_share: Share = 0.0
    basis: str = "greenchain default"


class ZeroCarbonSpec(_Strict):
    basis: str
    min_green_factory_level: Literal["municipal", "provincial", "national"]
    min_offset_coverage: Annotated[float, Field(gt=0)]


class GradesSpec(_Strict):
    basis: str = "greenchain default"
    a_plus_top_share: Share
    a_top_share: Share


class MethodologyFile(_Strict):
    """Every key of methodology.yaml, with its type."""

    version: str
    window_months: Annotated[int, Field(ge=1, le=60)]
    min_months: Annotated[int, Field(ge=1)]
    factors: FactorsSpec
    categories: dict[Category, Annotated[float, Field(ge=0)]]
    indicators: dict[str, IndicatorSpec]
    min_population: Annotated[int, Field(ge=1)] = 5
    population_significant_figures: Annotated[int, Field(ge=1, le=15)] = 3
    defaults: dict[str, RangeSpec] = {}
    sectors: dict[str, dict[str, RangeSpec]] = {}
    tiers: dict[Literal["national", "provincial", "municipal"], TierSpec]
    zero_carbon: ZeroCarbonSpec
    grades: GradesSpec

    @model_validator(mode="after")
    def _consistent(self) -> MethodologyFile:
        if set(self.categories) != set(CATEGORIES):
            raise ValueError(f"categories must be exactly {', '.join(CATEGORIES)}")
        if abs(sum(self.categories.values()) - 100.0) > 1e-6:
            raise ValueError(
                f"category weights must add up to 100, got {sum(self.categories.values())}"
            )
        for category in CATEGORIES:
            share = sum(i.share for i in self.indicators.values() if i.category == category)
            if abs(share - 1.0) > 1e-6:
                raise ValueError(f"indicator shares of {category} must add up to 1, got {share:g}")
        if set(self.tiers) != set(TIERS_BEST_FIRST):
            raise ValueError(f"tiers must be exactly {', '.join(TIERS_BEST_FIRST)}")
        unknown = {
            name
            for table in [self.defaults, *self.sectors.values()]
            for name in table
            if name not in self.indicators
        }
        if unknown:
            raise ValueError(f"benchmarks for unknown indicators: {', '.join(sorted(unknown))}")
        if self.min_months > self.window_months:
            raise ValueError("min_months cannot exceed window_months")
        if self.grades.a_plus_top_share > self.grades.a_top_share:
            raise ValueError("grades: a_plus_top_share cannot exceed a_top_share")
        return self


def _problem(error: ValidationError) -> str:
    """The first problem of a validation error as 'key: message'."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"key '{key}': {first['msg']}"


# What the model uses --------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    name: str
    category: str
    unit: str
    lower_is_better: bool
    max_points: float  # category weight x share


@dataclass(frozen=True)
class Tier:
    name: str
    min_score: float
    min_verified_share: float
    basis: str  # where the thresholds come from ("greenchain default" when nowhere)


@dataclass(frozen=True)
class Methodology:
    version: str
    window_months: int
    min_months: int
    factors: dict[str, Any]
    category_weights: dict[str, float]
    indicators: tuple[Indicator, ...]
    min_population: int
    population_significant_figures: int
    defaults: dict[str, dict[str, float]]
    sectors: dict[str, dict[str, dict[str, float]]]
    tiers: tuple[Tier, ...]
    zero_carbon_basis: str
    zero_carbon_min_level: str  # one of DESIGNATION_LEVELS
    zero_carbon_min_offset_coverage: float
    grades_basis: str
    a_plus_top_share: float
    a_top_share: float

    @classmethod
    def load(cls, path: str | Path | None = None) -> Methodology:
        """The methodology in ``path``, or the packaged default; MethodologyError if unusable."""
        name = str(path) if path else "the packaged methodology.yaml"
        try:
            if path:
                text = Path(path).read_text()
            else:
                text = resources.files(__package__).joinpath("methodology.yaml").read_text()
            data = yaml.safe_load(text)
        except (OSError, yaml.YAMLError) as exc:
            raise MethodologyError(f"{name}: cannot read: {exc}".replace("\n", " ")) from None
        return cls.parse(data, name)

    @classmethod
    def parse(cls, data: Any, source: str = "methodology") -> Methodology:
        """The methodology in ``data`` (the parsed YAML), validated against the schema."""
        try:
            spec = MethodologyFile.model_validate(data)
        except ValidationError as exc:
            raise MethodologyError(f"{source}: {_problem(exc)}") from None
        categories: dict[str, float] = {str(k): v for k, v in spec.categories.items()}
        tiers: dict[str, TierSpec] = {str(k): v for k, v in spec.tiers.items()}
        weights = {c: float(categories[c]) for c in CATEGORIES}
        indicators = tuple(
            Indicator(
                name=name,
                category=i.category,
                unit=i.unit,
                lower_is_better=i.lower_is_better,
                max_points=weights[i.category] * i.share,
            )
            for name, i in spec.indicators.items()
        )
        return cls(
            version=spec.version,
            window_months=spec.window_months,
            min_months=spec.min_months,
            factors=spec.factors.model_dump(),
            category_weights=weights,
            indicators=indicators,
            min_population=spec.min_population,
            population_significant_figures=spec.population_significant_figures,
            defaults={k: v.model_dump() for k, v in spec.defaults.items()},
            sectors={
                s: {k: v.model_dump() for k, v in table.items()}
                for s, table in spec.sectors.items()
            },
            tiers=tuple(
                Tier(
                    t,
                    tiers[t].min_score,
                    tiers[t].min_verified_share,
                    tiers[t].basis,
                )
                for t in TIERS_BEST_FIRST
            ),
            zero_carbon_basis=spec.zero_carbon.basis,
            zero_carbon_min_level=spec.zero_carbon.min_green_factory_level,
            zero_carbon_min_offset_coverage=spec.zero_carbon.min_offset_coverage,
            grades_basis=spec.grades.basis,
            a_plus_top_share=spec.grades.a_plus_top_share,
            a_top_share=spec.grades.a_top_share,
        )

    def indicator(self, name: str) -> Indicator:
        return next(i for i in self.indicators if i.name == name)
