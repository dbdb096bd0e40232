"""Bounded state and verification through the worker's steps and the engine (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

from greenchain.common.ratings import declarations_digest
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import Limits, rated_ids
from greenchain.scoring.worker import ScoringSteps
from greenchain.testing.builders import verification
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import declaration_pb2 as d

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def _records(decls: list[d.Declaration]) -> list[Record]:
    return [Record(None, x.SerializeToString(), [], "decls", 0, i) for i, x in enumerate(decls)]


def _steps(
    limits: Limits | None = None, months: int = 4
) -> tuple[ScoringSteps, list[d.Declaration]]:
    suppliers, decls = sample_declarations(suppliers=1, months=months, seed=7)
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    return ScoringSteps(engine, {}, limits=limits), decls


def test_declarations_past_the_cap_are_dead_lettered_with_the_limit_named() -> None:
    steps, decls = _steps(Limits(max_declarations=5))
    assert len(decls) > 5
    batch = steps.apply(_records(decls))
    refused = [letter.reason for letter in batch.dead_letters]
    assert len(refused) == len(decls) - 5
    assert all("GREENCHAIN_SUPPLIER_MAX_DECLARATIONS=5" in reason for reason in refused)
    (state,) = steps.table.values()
    assert len(state) == 5


def test_only_a_verifiers_record_counts_in_the_verified_share_and_provenance_is_a_digest() -> None:
    steps, decls = _steps()
    for decl in decls:  # the supplier says THIRD_PARTY_VERIFIED itself
        decl.assurance.level = d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
        decl.assurance.verifier = "CQC"
    (emission,) = steps.rate(steps.apply(_records(decls)), AS_OF)
    rating = emission.rating
    assert rating.coverage.verified_share == 0.0  # self-declared stays self-declared
    used = rating.coverage.declarations_used
    assert used == len(decls)
    assert rating.declarations_digest == declarations_digest(x.declaration_id for x in decls)
    steps.confirm([emission])

    half = decls[: len(decls) // 2]
    (emission,) = steps.rate(steps.apply(_records([verification(x) for x in half])), AS_OF)
    rating = emission.rating
    assert rating.coverage.verified_share == round(len(half) / used, 6)
    assert rating.declarations_digest == declarations_digest(x.declaration_id for x in decls)


def test_rated_ids_are_exactly_what_the_models_digest_covers() -> None:
    steps, decls = _steps(months=15)  # some months before the 12-month window
    (emission,) = steps.rate(steps.apply(_records(decls)), AS_OF)
    rating = emission.rating
    (state,) = steps.table.values()
    assert rating.coverage.declarations_used < len(decls)
    window = steps.engine.m.window_months
    assert declarations_digest(rated_ids(state, window)) == rating.declarations_digest
    assert len(rated_ids(state, window)) == rating.coverage.declarations_used
