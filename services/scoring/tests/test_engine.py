"""The scoring engine without Kafka: states in, changed ratings out, revisions per supplier."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import SupplierState, apply
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import declaration_pb2, supplier_pb2

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Population = tuple[list[supplier_pb2.Supplier], list[declaration_pb2.Declaration]]


@pytest.fixture(scope="module")
def population() -> Population:
    return sample_declarations(suppliers=12, months=6, seed=3)


def loaded(
    suppliers: list[supplier_pb2.Supplier], decls: list[declaration_pb2.Declaration]
) -> tuple[ScoringEngine, dict[str, SupplierState]]:
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    states: dict[str, SupplierState] = {}
    for decl in decls:
        apply(states.setdefault(decl.supplier_id, {}), decl)
    engine.update(states)
    return engine, states


def test_first_full_pass_rates_everyone_once_and_then_nothing(population: Population) -> None:
    suppliers, decls = population
    engine, _ = loaded(suppliers, decls)
    first = engine.ratings(set(), NOW, full=True)
    assert sorted(r.supplier_id for r in first) == sorted(s.supplier_id for s in suppliers)
    assert {r.revision for r in first} == {1}
    # nothing changed: a second pass, even a full one, emits nothing
    assert engine.ratings(set(), NOW, full=True) == []


def test_a_changed_supplier_gets_the_next_revision_and_its_change(population: Population) -> None:
    suppliers, decls = population
    engine, states = loaded(suppliers, decls)
    before = {r.supplier_id: r for r in engine.ratings(set(), NOW, full=True)}
    target = next(d for d in decls if d.WhichOneof("body") == "energy")
    sid = target.supplier_id
    worse = declaration_pb2.Declaration()
    worse.CopyFrom(target)
    worse.declaration_id += "-doubled"
    worse.submitted_at.seconds += 3600
    worse.energy.electricity_kwh *= 2
    assert apply(states[sid], worse)
    engine.update({sid: states[sid]})
    after = engine.ratings({sid}, NOW)
    changed = {r.supplier_id: r for r in after}
    assert sid in changed
    assert changed[sid].revision == before[sid].revision + 1
    assert changed[sid].score_change == pytest.approx(
        changed[sid].total_score - before[sid].total_score, abs=1e-6
    )


def test_every_rating_names_the_score_its_next_tier_needs(population: Population) -> None:
    suppliers, decls = population
    engine, _ = loaded(suppliers, decls)
    m = Methodology.load()
    minimum = {t.name: t.min_score for t in m.tiers}
    expected = {1: minimum["municipal"], 2: minimum["provincial"], 3: minimum["national"]}
    for rating in engine.ratings(set(), NOW, full=True):
        if rating.readiness_tier == 4:  # national: nothing above
            assert not rating.HasField("next_tier_min_score")
        else:
            assert rating.next_tier_min_score == expected[rating.readiness_tier]
