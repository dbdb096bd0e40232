"""The ledger's append-only RFC 9162 Merkle tree, kept in SQLite.

Every complete (perfect) subtree's hash is stored once, as it completes, in ``tree_nodes``
(level, index): level 0 holds the leaf hashes, the node at (level, i) covers leaves
[i * 2**level, (i + 1) * 2**level). Appending a leaf stores it and the nodes it completes
(amortised 2 rows per leaf, at most log2(n) + 1). Any subtree hash the RFC's recursion needs,
MTH(D[a:b]), is a right fold over at most log2(n) stored perfect nodes, so a root, an inclusion
proof or a consistency proof reads O(log^2 n) stored hashes (one indexed query per tree level),
whatever the size.
A tree of 1,000,000 leaves keeps about 2,000,000 rows of 32-byte hashes (~110 MB on disk).

This module makes proofs; it does not verify them (clients do: greenchain.common.merkle).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from greenchain.common.merkle import EMPTY_ROOT, node_hash

SCHEMA = """
CREATE TABLE tree_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
"""

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2): RFC 9162's k."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The stored nodes whose right fold is MTH(D[start:end]), left to right. ``start`` is
    aligned as in the RFC's recursion (a multiple of the power of two >= end - start)."""
    nodes: list[Node] = []
    while True:
        size = end - start
        if size & (size - 1) == 0:  # a power of two: one perfect subtree
            level = size.bit_length() - 1
            nodes.append((level, start >> level))
            return nodes
        k = _split(size)
        level = k.bit_length() - 1
        nodes.append((level, start >> level))
        start += k


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes make up PATH(index, D[size]), leaf to root (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees whose hashes make up PROOF(first, D[second]) (RFC 9162 2.1.4.1)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    if first == 0 or first == second:
        return []
    ranges: list[Range] = []
    start, end, m, complete = 0, second, first, True
    while True:
        size = end - start
        if m == size:
            if not complete:
                ranges.append((start, end))
            break
        k = _split(size)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    ranges.reverse()
    return ranges


class MerkleTree:
    """The tree over a SQLite connection. Callers serialise access and own the transactions:
    :meth:`append` writes inside the caller's transaction, so leaves, nodes and the entries
    they belong to commit (or roll back) together."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def size(self) -> int:
        row = self._db.execute("SELECT MAX(idx) FROM tree_nodes WHERE level = 0").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def _border(self, size: int) -> list[tuple[int, bytes]]:
        """(level, hash) of the perfect subtrees of a tree of ``size``, left to right."""
        nodes = perfect_nodes(0, size) if size else []
        found = self._fetch(nodes)
        return [(level, found[(level, idx)]) for level, idx in nodes]

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Appends leaves (their RFC 9162 leaf hashes); returns the new size."""
        size = self.size()
        border = self._border(size)
        rows: list[tuple[int, int, bytes]] = []
        for leaf in leaf_hashes:
            level, index, current = 0, size, leaf
            rows.append((0, index, current))
            while index & 1:  # a right child: its parent is complete now
                _, left = border.pop()
                current = node_hash(left, current)
                level, index = level + 1, index >> 1
                rows.append((level, index, current))
            border.append((level, current))
            size += 1
        self._db.executemany("INSERT INTO tree_nodes VALUES (?, ?, ?)", rows)
        return size

    def _fetch(self, nodes: Iterable[Node]) -> dict[Node, bytes]:
        by_level: dict[int, list[int]] = {}
        for level, idx in set(nodes):
            by_level.setdefault(level, []).append(idx)
        found: dict[Node, bytes] = {}
        for level, indices in by_level.items():  # one indexed lookup per level (<= 64)
            for at in range(0, len(indices), 500):
                chunk = indices[at : at + 500]
                marks = ",".join("?" * len(chunk))
                for idx, digest in self._db.execute(
                    f"SELECT idx, hash FROM tree_nodes WHERE level = ? AND idx IN ({marks})",
                    [level, *chunk],
                ):
                    found[(level, idx)] = bytes(digest)
        wanted = sum(len(v) for v in by_level.values())
        if len(found) != wanted:
            missing = [(lv, i) for lv, v in by_level.items() for i in v if (lv, i) not in found]
            raise LookupError(f"tree nodes missing (tree smaller than asked?): {missing[:3]}")
        return found

    def _hashes(self, ranges: Sequence[Range]) -> list[bytes]:
        plans = [perfect_nodes(start, end) for start, end in ranges]
        found = self._fetch(node for plan in plans for node in plan)
        out = []
        for plan in plans:
            digest = found[plan[-1]]
            for node in reversed(plan[:-1]):
                digest = node_hash(found[node], digest)
            out.append(digest)
        return out

    def root(self, size: int) -> bytes:
        """MTH of the first ``size`` leaves."""
        return EMPTY_ROOT if size == 0 else self._hashes([(0, size)])[0]

    def leaf(self, index: int) -> bytes:
        return self._fetch([(0, index)])[(0, index)]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self._hashes(inclusion_ranges(index, size))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self._hashes(consistency_ranges(first, second))
