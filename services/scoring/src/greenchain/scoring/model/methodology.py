"""The rating methodology: weights, factors, benchmarks and thresholds from one versioned YAML."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from greenchain.common.grades import TIERS_BEST_FIRST

CATEGORIES = (
    "low_carbon_energy",
    "resource_efficiency",
    "clean_production",
    "green_products",
    "intensive_land_use",
)


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


DESIGNATION_LEVELS = ("municipal", "provincial", "national")  # lowest first


@dataclass(frozen=True)
class Methodology:
    version: str
    window_months: int
    min_months: int
    factors: dict[str, Any]
    category_weights: dict[str, float]
    indicators: tuple[Indicator, ...]
    min_population: int
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
        """The methodology in ``path``, or the packaged default."""
        if path:
            text = Path(path).read_text()
        else:
            text = resources.files(__package__).joinpath("methodology.yaml").read_text()
        return cls.parse(yaml.safe_load(text))

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Methodology:
        weights = {c: float(data["categories"][c]) for c in CATEGORIES}
        if abs(sum(weights.values()) - 100.0) > 1e-6:
            raise ValueError(f"category weights must add up to 100, got {sum(weights.values())}")
        indicators = []
        for name, spec in data["indicators"].items():
            if spec["category"] not in weights:
                raise ValueError(f"indicator {name}: unknown category {spec['category']!r}")
            indicators.append(
                Indicator(
                    name=name,
                    category=spec["category"],
                    unit=spec["unit"],
                    lower_is_better=bool(spec["lower_is_better"]),
                    max_points=weights[spec["category"]] * float(spec["share"]),
                )
            )
        for category in CATEGORIES:
            share = sum(i.max_points for i in indicators if i.category == category)
            if abs(share - weights[category]) > 1e-6:
                raise ValueError(f"indicator shares of {category} must add up to 1")
        tiers = tuple(
            Tier(
                t,
                float(data["tiers"][t]["min_score"]),
                float(data["tiers"][t].get("min_verified_share", 0)),
                str(data["tiers"][t].get("basis", "greenchain default")),
            )
            for t in TIERS_BEST_FIRST
        )
        zero_carbon = data["zero_carbon"]
        min_level = str(zero_carbon["min_green_factory_level"])
        if min_level not in DESIGNATION_LEVELS:
            raise ValueError(
                f"zero_carbon.min_green_factory_level must be one of {DESIGNATION_LEVELS}, "
                f"got {min_level!r}"
            )
        return cls(
            version=str(data["version"]),
            window_months=int(data["window_months"]),
            min_months=int(data["min_months"]),
            factors=dict(data["factors"]),
            category_weights=weights,
            indicators=tuple(indicators),
            min_population=int(data.get("min_population", 5)),
            defaults={k: dict(v) for k, v in (data.get("defaults") or {}).items()},
            sectors={
                s: {k: dict(v) for k, v in t.items()}
                for s, t in (data.get("sectors") or {}).items()
            },
            tiers=tiers,
            zero_carbon_basis=str(zero_carbon["basis"]),
            zero_carbon_min_level=min_level,
            zero_carbon_min_offset_coverage=float(zero_carbon["min_offset_coverage"]),
            grades_basis=str(data["grades"].get("basis", "greenchain default")),
            a_plus_top_share=float(data["grades"]["a_plus_top_share"]),
            a_top_share=float(data["grades"]["a_top_share"]),
        )

    def indicator(self, name: str) -> Indicator:
        return next(i for i in self.indicators if i.name == name)
