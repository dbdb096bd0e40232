"""The ledger's Merkle tree (SQLite) against published RFC 6962/9162 vectors and, for every
index and pair of sizes up to 40, against an independent verifier (greenchain.testing.rfc9162:
the RFC's own verification steps)."""

from __future__ import annotations

import sqlite3

import pytest

from greenchain.ledger.merkle import SCHEMA, MerkleTree
from greenchain.testing.rfc9162 import consistency_ok, hash_leaf, inclusion_ok, mth, vectors

V = vectors()
LEAVES = [bytes.fromhex(x) for x in V["leaves"]]


def tree(leaves: list[bytes], batch: int = 1) -> MerkleTree:
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    made = MerkleTree(db)
    for at in range(0, len(leaves), batch):
        made.append([hash_leaf(x) for x in leaves[at : at + batch]])
    return made


def test_roots_match_the_published_vectors_at_every_size() -> None:
    t = tree([])
    assert t.root(0).hex() == V["empty_root"]
    for size, data in enumerate(LEAVES, start=1):
        t.append([hash_leaf(data)])
        assert t.size() == size
        assert t.root(size).hex() == V["roots"][size - 1]
        assert [t.root(s).hex() for s in range(1, size + 1)] == V["roots"][:size]


@pytest.mark.parametrize("case", V["inclusion"], ids=lambda c: f"{c['index']}@{c['size']}")
def test_inclusion_proofs_match_the_published_vectors(case: dict[str, object]) -> None:
    proof = tree(LEAVES).inclusion_proof(int(case["index"]), int(case["size"]))  # type: ignore[call-overload]
    assert [h.hex() for h in proof] == case["proof"]


@pytest.mark.parametrize("case", V["consistency"], ids=lambda c: f"{c['first']}->{c['second']}")
def test_consistency_proofs_match_the_published_vectors(case: dict[str, object]) -> None:
    proof = tree(LEAVES).consistency_proof(int(case["first"]), int(case["second"]))  # type: ignore[call-overload]
    assert [h.hex() for h in proof] == case["proof"]


def test_every_proof_up_to_40_leaves_verifies_with_the_rfc_algorithm() -> None:
    leaves = [f"entry {i}".encode() for i in range(40)]
    t = tree(leaves, batch=7)  # batches do not change the tree
    roots = {n: mth(leaves[:n]) for n in range(41)}
    for size in range(1, 41):
        assert t.root(size) == roots[size]
        for index in range(size):
            proof = t.inclusion_proof(index, size)
            assert inclusion_ok(index, size, hash_leaf(leaves[index]), proof, roots[size])
            assert not inclusion_ok(index, size, hash_leaf(b"forged"), proof, roots[size])
        for first in range(size + 1):
            proof = t.consistency_proof(first, size)
            assert consistency_ok(first, size, roots[first], roots[size], proof), (first, size)
            if 0 < first < size:
                assert not consistency_ok(first, size, roots[first], mth([b"x"] * size), proof)


def test_asking_beyond_the_tree_is_an_error() -> None:
    t = tree(LEAVES[:5])
    with pytest.raises(LookupError):
        t.inclusion_proof(2, 6)
    with pytest.raises(ValueError):
        t.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        t.consistency_proof(6, 5)
