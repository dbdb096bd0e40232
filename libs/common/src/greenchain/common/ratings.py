"""What scoring and the ledger agree on about a rating: its fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from greenchain.v1 import rating_pb2

# Fields that change with every emission without changing what the rating says.
VOLATILE_FIELDS = ("as_of", "revision", "score_change", "previous_tier")


def rating_fingerprint(rating: rating_pb2.SupplierRating) -> str:
    """SHA-256 of the rating's substance (volatile fields cleared, deterministic bytes): two
    ratings with the same fingerprint say the same thing; used to emit and store only changes."""
    core = rating_pb2.SupplierRating()
    core.CopyFrom(rating)
    for name in VOLATILE_FIELDS:
        core.ClearField(name)
    return hashlib.sha256(core.SerializeToString(deterministic=True)).hexdigest()


def declarations_digest(declaration_ids: Iterable[str]) -> str:
    """A rating's compact provenance (``SupplierRating.declarations_digest``): lowercase hex
    SHA-256 of the distinct declaration ids, sorted, each followed by a newline. Whoever holds
    the declarations (a supplier, an auditor) recomputes it to check what a rating used."""
    digest = hashlib.sha256()
    for declaration_id in sorted(set(declaration_ids)):
        digest.update(declaration_id.encode() + b"\n")
    return digest.hexdigest()
