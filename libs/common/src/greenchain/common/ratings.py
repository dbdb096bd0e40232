"""What scoring and the ledger agree on about a rating: its fingerprint."""

from __future__ import annotations

import hashlib

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
