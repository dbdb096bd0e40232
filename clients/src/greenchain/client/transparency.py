"""``greenchain verify``: check the ledger without trusting it.

The client holds the ledger's public key (given by whoever runs the ledger, out of band) and a
checkpoint store: the latest checkpoint it has verified per log origin, by default in
``~/.config/greenchain/checkpoints`` (JSON, origin -> signed note). Each run

1. takes the checkpoint the ledger answered at and checks its Ed25519 signature;
2. asks for a consistency proof from the checkpoint it holds to the new one and checks it
   (RFC 9162 2.1.4.2): a ledger whose history was rewritten, even with every hash and the tree
   recomputed and the checkpoint re-signed, cannot produce one;
3. for a supplier, checks every entry: its leaf bytes say what is shown (supplier, sequence,
   rating), the supplier's hash chain links (no entry left out or reordered), and its
   inclusion proof leads to the checkpoint's root (RFC 9162 2.1.3.2);
4. stores the new checkpoint only when all of that held.

Any failure raises :class:`VerificationFailed` with one line saying what did not hold.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from greenchain.client.ledger import LedgerClient
from greenchain.common.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from greenchain.common.signed_note import Checkpoint, NoteError, Verifier
from greenchain.v1 import ledger_pb2, rating_pb2

GENESIS = bytes(32)


class VerificationFailed(Exception):
    """What did not verify, in one line."""


def default_store_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "greenchain" / "checkpoints"


def load_verifier(key: str) -> Verifier:
    """A verifier key given as text (``name+hash+key``) or as a file holding it."""
    path = Path(key)
    text = path.read_text(encoding="utf-8") if path.is_file() else key
    return Verifier.parse(text)


class CheckpointStore:
    """The latest verified checkpoint per log origin, in a JSON file (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise VerificationFailed(f"checkpoint store {self.path} is unreadable: {exc}") from None
        return {str(k): str(v) for k, v in dict(data).items()}

    def get(self, origin: str) -> str | None:
        return self._load().get(origin)

    def put(self, origin: str, note: str) -> None:
        data = self._load()
        data[origin] = note
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(self.path)


@dataclass(frozen=True)
class Verified:
    checkpoint: Checkpoint
    held_size: int | None  # the size of the checkpoint held before, if any
    entries: int

    def summary(self) -> str:
        held = (
            f"consistent with the checkpoint you held (size {self.held_size})"
            if self.held_size is not None
            else "no earlier checkpoint held (trusted from now on)"
        )
        what = f"{self.entries} entries included, " if self.entries else ""
        return (
            f"verified: {what}checkpoint {self.checkpoint.origin} size {self.checkpoint.size} "
            f"root {self.checkpoint.root_hash.hex()[:16]}, {held}"
        )


def _open(note: str, verifier: Verifier, what: str) -> Checkpoint:
    try:
        return Checkpoint.open(note, verifier)
    except NoteError as exc:
        raise VerificationFailed(f"{what}: {exc}") from None


def check_entries(entries: list[ledger_pb2.LedgerEntry], supplier_id: str) -> None:
    """Each entry is what its leaf says, and the supplier's chain links from its first entry."""
    previous = GENESIS
    for expected, entry in enumerate(entries, start=1):
        try:
            logged = ledger_pb2.LogEntry.FromString(entry.leaf)
            logged_rating = rating_pb2.SupplierRating.FromString(logged.rating)
        except Exception:
            raise VerificationFailed(f"entry {entry.index}: leaf bytes do not parse") from None
        where = f"{supplier_id} entry {entry.sequence} (log index {entry.index})"
        if (logged.supplier_id, logged.sequence, logged.index) != (
            supplier_id,
            entry.sequence,
            entry.index,
        ) or logged_rating != entry.rating:
            raise VerificationFailed(f"{where}: the rating shown is not the one in its leaf")
        if entry.sequence != expected:
            raise VerificationFailed(f"{supplier_id}: entry {expected} is missing from the history")
        if logged.previous_hash != previous:
            raise VerificationFailed(f"{where}: does not link to the supplier's previous entry")
        if hashlib.sha256(previous + logged.rating).digest() != logged.entry_hash:
            raise VerificationFailed(f"{where}: entry_hash does not match its rating")
        previous = logged.entry_hash


async def verify(
    client: LedgerClient,
    verifier: Verifier,
    store: CheckpointStore,
    supplier_id: str | None = None,
) -> Verified:
    entries: list[ledger_pb2.LedgerEntry] = []
    if supplier_id:
        history = await client.history_response(supplier_id)
        entries, note = list(history.entries), history.checkpoint.note
        if not entries:
            raise VerificationFailed(f"the ledger has no entry for {supplier_id}")
    else:
        note = (await client.checkpoint()).note
    checkpoint = _open(note, verifier, "the ledger's checkpoint")

    held_note = store.get(checkpoint.origin)
    held = _open(held_note, verifier, "the checkpoint you hold") if held_note else None
    if held is not None:
        if held.size > checkpoint.size:
            raise VerificationFailed(
                f"the ledger answered at size {checkpoint.size}, behind the checkpoint you hold "
                f"(size {held.size}): a lagging replica, or a rolled-back log"
            )
        proof = await client.consistency_proof(held.size, checkpoint.size)
        try:
            verify_consistency(
                held.size, checkpoint.size, list(proof.hashes), held.root_hash, checkpoint.root_hash
            )
        except ProofError as exc:
            raise VerificationFailed(
                f"consistency: the ledger's tree of size {checkpoint.size} does not extend the "
                f"checkpoint you hold (size {held.size}): its history was rewritten ({exc})"
            ) from None

    if supplier_id:
        check_entries(entries, supplier_id)
        for entry in entries:
            path = await client.inclusion_proof(entry.index, checkpoint.size)
            try:
                verify_inclusion(
                    entry.index,
                    checkpoint.size,
                    leaf_hash(entry.leaf),
                    list(path.hashes),
                    checkpoint.root_hash,
                )
            except ProofError as exc:
                raise VerificationFailed(
                    f"inclusion: {supplier_id} entry {entry.sequence} (log index {entry.index}) "
                    f"is not in the signed tree of size {checkpoint.size} ({exc})"
                ) from None

    if held is None or checkpoint.size >= held.size:
        store.put(checkpoint.origin, note)
    return Verified(checkpoint, held.size if held else None, len(entries))
