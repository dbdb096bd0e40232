"""Per-supplier caps at ingest: RESOURCE_EXHAUSTED, naming the limit, for a supplier past one.

Scoring is the authority on a supplier's state (greenchain.scoring.state: it keeps what can
still be rated, and dead-letters a declaration that would take a supplier past a cap, with the
limit named). Ingest is stateless across restarts, so it cannot know that state; it keeps, per
supplier, the state keys of the declarations it has accepted since it started, with the same
settings and the same rules (one entry per site, month and kind, and per product; only the
``GREENCHAIN_SCORING_KEEP_MONTHS`` months back from the latest emissions or energy month count),
and refuses a declaration that would be one entry or one product too many. A correction of a
counted entry (same site, month, kind and product) always passes.

So a supplier that runs past a cap is told at once, by the RPC, in the common case (one ingest
process that has seen its declarations). After an ingest restart, or across several ingest
replicas, the count starts lower than the state: those declarations are accepted and scoring
refuses them (dead letter naming the limit). Ingest's count is never higher than the state's
except for PACT successors (it does not track which footprints they withdraw): conservative.

Memory is bounded: at most ``max_declarations`` keys (12-byte digests) per registered supplier.
"""

from __future__ import annotations

import hashlib

from greenchain.common.config import Settings
from greenchain.v1 import declaration_pb2

WINDOW_KINDS = ("emissions", "energy")
"""The kinds whose latest month ends a supplier's rating window (as in scoring's model)."""


def state_key(decl: declaration_pb2.Declaration) -> str:
    """The key of ``decl`` in scoring's state (site|YYYY-MM|kind[|product])."""
    kind = decl.WhichOneof("body") or ""
    key = f"{decl.site_id}|{decl.period.year:04d}-{decl.period.month:02d}|{kind}"
    if kind == "product_footprint":
        key += f"|{decl.product_footprint.product_id}"
    return key


class SupplierQuota:
    """The entries ingest has accepted per supplier, checked against the per-supplier caps."""

    def __init__(self, settings: Settings) -> None:
        self.keep_months = settings.scoring_keep_months
        self.max_declarations = settings.supplier_max_declarations
        self.max_products = settings.supplier_max_products
        # supplier -> key digest -> (month, product id or "")
        self._kept: dict[str, dict[bytes, tuple[int, str]]] = {}
        self._window_end: dict[str, int] = {}  # supplier -> latest emissions or energy month

    def admit(self, decl: declaration_pb2.Declaration) -> str | None:
        """None when ``decl`` fits (it is counted from now on), else why not, naming the limit.
        Call it for valid declarations only."""
        kind = decl.WhichOneof("body")
        if kind == "product_footprint" and decl.product_footprint.pact_deprecated:
            return None  # a withdrawal adds no entry
        sid = decl.supplier_id
        month = decl.period.year * 12 + decl.period.month - 1
        end = self._window_end.get(sid)
        if kind in WINDOW_KINDS:
            end = month if end is None else max(end, month)
        cutoff = None if end is None else end - self.keep_months
        if cutoff is not None and month <= cutoff:
            return None  # too old to be rated: scoring keeps nothing of it
        kept = self._kept.setdefault(sid, {})
        key = hashlib.blake2b(state_key(decl).encode(), digest_size=12).digest()
        if key in kept:
            return None  # a correction or a re-send: no new entry
        live = [(m, p) for m, p in kept.values() if cutoff is None or m > cutoff]
        who = f"supplier {sid!r}"
        if len(live) >= self.max_declarations:
            return (
                f"{who} has {len(live)} declarations in its last {self.keep_months} months: "
                f"limit GREENCHAIN_SUPPLIER_MAX_DECLARATIONS={self.max_declarations} (correct "
                "existing ones, or send new ones once older months leave the window)"
            )
        product = decl.product_footprint.product_id if kind == "product_footprint" else ""
        products = {p for _, p in live if p}
        if product and product not in products and len(products) >= self.max_products:
            return (
                f"{who} has footprints of {len(products)} products in its last "
                f"{self.keep_months} months: limit GREENCHAIN_SUPPLIER_MAX_PRODUCTS="
                f"{self.max_products}"
            )
        kept[key] = (month, product)
        if end is not None and end != self._window_end.get(sid):
            self._window_end[sid] = end
            assert cutoff is not None
            for old in [k for k, (m, _) in kept.items() if m <= cutoff]:
                del kept[old]
        return None
