"""What a client verifies with: signed notes (the Go reference example, byte for byte) and the
RFC 9162 proof verification (published vectors, and corrupted proofs rejected)."""

from __future__ import annotations

import pytest

from greenchain.common.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from greenchain.common.signed_note import Checkpoint, NoteError, Signer, Verifier, open_note
from greenchain.testing.rfc9162 import vectors

V = vectors()
ROOTS = [bytes.fromhex(r) for r in V["roots"]]
LEAVES = [bytes.fromhex(x) for x in V["leaves"]]


def test_signing_reproduces_the_reference_note_exactly() -> None:
    case = V["signed_note"]
    signer = Signer.parse(case["signer"])
    assert signer.encode() == case["signer"]
    assert signer.verifier().encode() == case["verifier"]
    assert signer.sign_line(case["text"]) == case["signature_line"]
    note = signer.sign(case["text"])
    assert open_note(note, Verifier.parse(case["verifier"])) == case["text"]


def test_an_altered_note_or_another_key_is_refused() -> None:
    case = V["signed_note"]
    note = Signer.parse(case["signer"]).sign(case["text"])
    verifier = Verifier.parse(case["verifier"])
    with pytest.raises(NoteError, match="altered"):
        open_note(note.replace("problem,", "problem;"), verifier)
    with pytest.raises(NoteError, match="no signature"):
        open_note(note, Signer.generate("PeterNeumann").verifier())
    with pytest.raises(NoteError):
        Verifier.parse(case["verifier"].replace("c74f20a3", "c74f20a4"))


def test_checkpoints_round_trip_and_carry_other_signatures() -> None:
    ledger, witness = Signer.generate("greenchain.test/ledger"), Signer.generate("witness")
    checkpoint = Checkpoint("greenchain.test/ledger", 8, ROOTS[7])
    note = checkpoint.sign(ledger)
    cosigned = note + witness.sign_line(checkpoint.text())
    assert Checkpoint.open(cosigned, ledger.verifier()) == checkpoint
    assert Checkpoint.open(cosigned, witness.verifier()) == checkpoint
    assert Checkpoint.parse_unverified(note) == checkpoint
    lines = note.split("\n")
    lines[1] = "9"
    with pytest.raises(NoteError):
        Checkpoint.open("\n".join(lines), ledger.verifier())


@pytest.mark.parametrize("case", V["inclusion"], ids=lambda c: f"{c['index']}@{c['size']}")
def test_inclusion_vectors_verify_and_corruptions_do_not(case: dict[str, object]) -> None:
    index, size = int(case["index"]), int(case["size"])  # type: ignore[call-overload]
    proof = [bytes.fromhex(h) for h in case["proof"]]  # type: ignore[attr-defined]
    leaf, root = leaf_hash(LEAVES[index]), ROOTS[size - 1]
    verify_inclusion(index, size, leaf, proof, root)
    bad = [
        (index + 1, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size, leaf_hash(b"wrong"), proof, root),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, proof, ROOTS[0] if size != 1 else ROOTS[1]),
    ] + [
        (
            index,
            size,
            leaf,
            [bytes([h[0] ^ 8]) + h[1:] if i == j else h for j, h in enumerate(proof)],
            root,
        )
        for i in range(len(proof))
    ]
    for args in bad:
        with pytest.raises(ProofError):
            verify_inclusion(*args)


@pytest.mark.parametrize("case", V["consistency"], ids=lambda c: f"{c['first']}->{c['second']}")
def test_consistency_vectors_verify_and_corruptions_do_not(case: dict[str, object]) -> None:
    first, second = int(case["first"]), int(case["second"])  # type: ignore[call-overload]
    proof = [bytes.fromhex(h) for h in case["proof"]]  # type: ignore[attr-defined]
    root1, root2 = ROOTS[first - 1], ROOTS[second - 1]
    verify_consistency(first, second, proof, root1, root2)
    if not proof:
        return
    bad = [
        (first - 1, second, proof, root1, root2),
        (first + 1, second, proof, root1, root2),
        (first, second, proof, root2, root1),
        (first, second, [], root1, root2),
        (first, second, proof[:-1], root1, root2),
        (first, second, [*proof, root1], root1, root2),
    ] + [
        (
            first,
            second,
            [bytes([h[0] ^ 16]) + h[1:] if i == j else h for j, h in enumerate(proof)],
            root1,
            root2,
        )
        for i in range(len(proof))
    ]
    for args in bad:
        with pytest.raises(ProofError):
            verify_consistency(*args)
