"""What a principal is shown of a rating and an entry (issue 19, item 6): pure, no server."""

from __future__ import annotations

from greenchain.common.auth import Principal
from greenchain.ledger.server import redact, to_entry
from greenchain.ledger.store import Entry
from greenchain.testing.builders import rating
from greenchain.v1 import rating_pb2

MUN = rating_pb2.READINESS_TIER_MUNICIPAL


def shared() -> rating_pb2.SupplierRating:
    made = rating("M", 60.0, MUN, 10.0, ("c1", "c2", "c3"))
    made.purchases.add(chain_id="c1", annual_purchase_value_cny=5e6)
    made.purchases.add(chain_id="c2", annual_purchase_value_cny=7e6)
    return made


def test_a_chain_sees_only_its_own_membership_and_purchases() -> None:
    original = shared()
    shown = redact(original, Principal("chain", "c2"))
    assert list(shown.chain_ids) == ["c2"]
    assert [(p.chain_id, p.annual_purchase_value_cny) for p in shown.purchases] == [("c2", 7e6)]
    assert shown.total_score == 60.0 and shown.supplier_id == "M"
    assert list(original.chain_ids) == ["c1", "c2", "c3"]  # a copy: the stored one is intact


def test_suppliers_and_admins_see_the_rating_unchanged() -> None:
    original = shared()
    assert redact(original, Principal("admin")) == original
    assert redact(original, Principal("supplier", "M")) == original


def test_a_chains_entry_has_no_bytes_over_the_full_rating() -> None:
    stored = Entry("M", 1, shared(), b"\0" * 32, b"h" * 32, 1.0, 0, b"leaf bytes")
    for_chain = to_entry(stored, principal=Principal("chain", "c1"))
    assert list(for_chain.rating.chain_ids) == ["c1"]
    assert (for_chain.leaf, for_chain.entry_hash, for_chain.previous_hash) == (b"", b"", b"")
    assert b"c2" not in for_chain.SerializeToString() and b"c3" not in for_chain.SerializeToString()
    for_admin = to_entry(stored, principal=Principal("admin"))
    assert for_admin.leaf == b"leaf bytes" and for_admin.rating == shared()
