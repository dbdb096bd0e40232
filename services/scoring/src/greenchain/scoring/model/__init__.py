"""The rating model: pure polars, no Kafka. See docs/methodology.md."""

from greenchain.scoring.model.methodology import Methodology
from greenchain.scoring.model.rating import (
    DECLARATION_SCHEMA,
    SUPPLIER_SCHEMA,
    benchmarks,
    rate,
    score,
    supplier_indicators,
)

__all__ = [
    "DECLARATION_SCHEMA",
    "SUPPLIER_SCHEMA",
    "Methodology",
    "benchmarks",
    "rate",
    "score",
    "supplier_indicators",
]
