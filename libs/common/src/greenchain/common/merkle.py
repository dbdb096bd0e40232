"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proof verification: what a
client needs to check, without trusting the ledger, that an entry is in a signed tree and that
a newer tree extends an older one.

leaf hash = SHA-256(0x00 || entry bytes), node hash = SHA-256(0x01 || left || right), and the
empty tree's root is SHA-256 of nothing. The verification follows the decomposition of a proof
into an "inner" part (inside the subtree that holds the leaf) and a "border" part (the perfect
subtrees on its left), as transparency-dev/merkle does; the results are those of RFC 9162
sections 2.1.3.2 and 2.1.4.2. The ledger's proof generation (greenchain.ledger.merkle) shares
nothing with this module but the two hash functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, with what did not match."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _decompose(index: int, size: int) -> tuple[int, int]:
    """(inner, border) lengths of the inclusion proof of ``index`` in a tree of ``size``."""
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, sibling in enumerate(proof):
        seed = node_hash(sibling, seed) if (index >> i) & 1 else node_hash(seed, sibling)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, sibling in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(sibling, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for sibling in proof:
        seed = node_hash(sibling, seed)
    return seed


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a tree of ``size`` must have if ``leaf`` (a leaf hash) is at ``index``."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    if len(leaf) != 32 or any(len(h) != 32 for h in proof):
        raise ProofError("hashes must be 32 bytes")
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"the proof has {len(proof)} hashes; {inner + border} expected")
    return _chain_border_right(_chain_inner(leaf, proof[:inner], index), proof[inner:])


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """ProofError unless ``proof`` shows leaf hash ``leaf`` at ``index`` of the tree ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"entry {index} is not in the tree of size {size} with that root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """ProofError unless ``proof`` shows that tree ``root1`` (``size1`` leaves) is a prefix of
    tree ``root2`` (``size2`` leaves)."""
    if size2 < size1:
        raise ProofError(f"size {size2} is smaller than {size1}")
    if size1 == size2:
        if proof:
            raise ProofError("trees of one size need an empty proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the tree of size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError("the empty tree needs an empty proof")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    if any(len(h) != 32 for h in proof):
        raise ProofError("hashes must be 32 bytes")
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    inner -= shift
    if size1 == 1 << shift:  # the old tree is a perfect subtree of the new one: no seed sent
        seed, start = root1, 0
    else:
        seed, start = proof[0], 1
    if len(proof) != start + inner + border:
        raise ProofError(f"the proof has {len(proof)} hashes; {start + inner + border} expected")
    rest = proof[start:]
    mask = (size1 - 1) >> shift
    old = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if old != root1:
        raise ProofError(f"the proof does not lead to the root you hold for size {size1}")
    new = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if new != root2:
        raise ProofError(f"the proof does not lead to the root of size {size2}")
