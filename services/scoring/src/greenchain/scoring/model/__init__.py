"""The rating model: pure polars, no Kafka. See docs/methodology.md."""

from greenchain.scoring.model.methodology import Methodology
from greenchain.scoring.model.rating import (
    DECLARATION_SCHEMA,
    SUPPLIER_SCHEMA,
    Snapshot,
    rate,
    score,
    snapshot,
    supplier_indicators,
)

__all__ = [
    "DECLARATION_SCHEMA",
    "SUPPLIER_SCHEMA",
    "Methodology",
    "Snapshot",
    "rate",
    "score",
    "snapshot",
    "supplier_indicators",
]
