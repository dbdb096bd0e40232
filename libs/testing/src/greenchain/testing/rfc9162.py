"""An independent RFC 9162 verifier for tests: sections 2.1.3.2 (inclusion) and 2.1.4.2
(consistency) transcribed step by step, sharing no code with the ledger (which makes proofs) or
with greenchain.common.merkle (the client's verifier). Tests check proofs with this one, so a
bug in either of those cannot hide itself."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import yaml

from greenchain.testing import DATA


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(bytes([0]) + data).digest()


def _hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(bytes([1]) + left + right).digest()


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1, straight from the definition (for small trees)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hash_leaf(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _hash_children(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_ok(
    leaf_index: int, tree_size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2 for a leaf hash ``leaf``."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _hash_children(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_ok(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2 (with the trivial cases: equal sizes and the empty first tree)."""
    if first > second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if first == 0:
        return not path
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:  # an exact power of 2
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _hash_children(c, fr)
            sr = _hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def vectors() -> dict[str, Any]:
    """The published known-answer vectors (data/rfc6962_vectors.yaml, source named there)."""
    return dict(yaml.safe_load((DATA / "rfc6962_vectors.yaml").read_text(encoding="utf-8")))
