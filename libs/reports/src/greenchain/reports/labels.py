"""How numbers and names read in reports."""

from __future__ import annotations

from greenchain.v1 import declaration_pb2, rating_pb2

CATEGORY_LABEL: dict[int, str] = {
    rating_pb2.CATEGORY_LOW_CARBON_ENERGY: "low-carbon energy",
    rating_pb2.CATEGORY_RESOURCE_EFFICIENCY: "resource efficiency",
    rating_pb2.CATEGORY_CLEAN_PRODUCTION: "clean production",
    rating_pb2.CATEGORY_GREEN_PRODUCTS: "green products",
    rating_pb2.CATEGORY_INTENSIVE_LAND_USE: "intensive land use",
}

ZERO_CARBON_LABEL: dict[int, str] = {
    rating_pb2.ZERO_CARBON_STATUS_NOT_MET: "not met",
    rating_pb2.ZERO_CARBON_STATUS_CRITERIA_MET: "criteria met",
    rating_pb2.ZERO_CARBON_STATUS_DESIGNATED: "designated",
}


def category_label(category: int) -> str:
    return CATEGORY_LABEL.get(category, "-")


def zero_carbon_label(status: int) -> str:
    return ZERO_CARBON_LABEL.get(status, "-")


def money(cny: float) -> str:
    """CNY the way Chinese reports write it: 亿 (10^8) or 万 (10^4)."""
    return f"{cny / 1e8:,.2f} 亿" if cny >= 1e8 else f"{cny / 1e4:,.0f} 万"


def money_latin(cny: float) -> str:
    """CNY in Latin characters only (the PDF's built-in fonts)."""
    if cny >= 1e9:
        return f"CNY {cny / 1e9:,.2f} bn"
    return f"CNY {cny / 1e6:,.1f} M"


def period(p: declaration_pb2.Period) -> str:
    return f"{p.year:04d}-{p.month:02d}" if p.year else "-"


def month_index(p: declaration_pb2.Period) -> int:
    """Months since year 0, so that month differences are subtractions."""
    return p.year * 12 + p.month - 1


def share(value: float) -> str:
    return f"{value:.1%}"


def number(value: float) -> str:
    """A value of any magnitude with about four significant digits."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.3g}" if magnitude < 10 else f"{value:.4g}"
    return f"{value:.4g}"
