"""The scoring engine without Kafka: states in, changed ratings out, revisions per supplier."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from greenchain.common.ratings import rating_fingerprint
from greenchain.scoring.engine import Emission, ScoringEngine
from greenchain.scoring.model import Methodology, Snapshot, snapshot
from greenchain.scoring.state import SupplierState, apply
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import benchmark_pb2, declaration_pb2, rating_pb2, supplier_pb2

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Population = tuple[list[supplier_pb2.Supplier], list[declaration_pb2.Declaration]]


@pytest.fixture(scope="module")
def population() -> Population:
    return sample_declarations(suppliers=12, months=6, seed=3)


def loaded(
    suppliers: list[supplier_pb2.Supplier], decls: list[declaration_pb2.Declaration]
) -> tuple[ScoringEngine, dict[str, SupplierState], pl.DataFrame]:
    """An engine with the registry and the states of ``decls``, rating against the snapshot of
    that whole population (as once the benchmark stage has seen it)."""
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    states: dict[str, SupplierState] = {}
    for decl in decls:
        apply(states.setdefault(decl.supplier_id, {}), decl)
    population = engine.update(states)
    engine.set_snapshot("all", snapshot(population, engine.m))
    return engine, states, population


def emit(engine: ScoringEngine, emissions: list[Emission]) -> dict[str, rating_pb2.SupplierRating]:
    """Confirms ``emissions`` as sent; their ratings by supplier."""
    engine.confirm(emissions)
    return {e.rating.supplier_id: e.rating for e in emissions}


def test_first_pass_rates_everyone_once_and_then_nothing(population: Population) -> None:
    suppliers, decls = population
    engine, _, frame = loaded(suppliers, decls)
    first = emit(engine, engine.ratings(frame, NOW))
    assert sorted(first) == sorted(s.supplier_id for s in suppliers)
    assert {r.revision for r in first.values()} == {1}
    # nothing changed: a second pass emits nothing
    assert engine.ratings(frame, NOW) == []


def test_unconfirmed_ratings_are_rated_again(population: Population) -> None:
    suppliers, decls = population
    engine, _, frame = loaded(suppliers, decls)
    assert engine.ratings(frame, NOW)
    engine.discard()  # the send failed
    again = emit(engine, engine.ratings(frame, NOW))
    assert len(again) == len(suppliers) and {r.revision for r in again.values()} == {1}


def test_a_changed_supplier_gets_the_next_revision_and_its_change(population: Population) -> None:
    suppliers, decls = population
    engine, states, frame = loaded(suppliers, decls)
    before = emit(engine, engine.ratings(frame, NOW))
    target = next(d for d in decls if d.WhichOneof("body") == "energy")
    sid = target.supplier_id
    worse = declaration_pb2.Declaration()
    worse.CopyFrom(target)
    worse.declaration_id += "-doubled"
    worse.submitted_at.seconds += 3600
    worse.energy.electricity_kwh *= 2
    assert apply(states[sid], worse)
    changed = emit(engine, engine.ratings(engine.update({sid: states[sid]}), NOW))
    assert set(changed) == {sid}  # only the touched supplier is rated
    assert changed[sid].revision == before[sid].revision + 1
    assert changed[sid].score_change == pytest.approx(
        changed[sid].total_score - before[sid].total_score, abs=1e-6
    )


def test_every_rating_names_the_score_its_next_tier_needs(population: Population) -> None:
    suppliers, decls = population
    engine, _, frame = loaded(suppliers, decls)
    m = Methodology.load()
    minimum = {t.name: t.min_score for t in m.tiers}
    expected = {1: minimum["municipal"], 2: minimum["provincial"], 3: minimum["national"]}
    for rating in emit(engine, engine.ratings(frame, NOW)).values():
        if rating.readiness_tier == 4:  # national: nothing above
            assert not rating.HasField("next_tier_min_score")
        else:
            assert rating.next_tier_min_score == expected[rating.readiness_tier]


def test_ratings_do_not_depend_on_which_worker_rates_a_supplier(population: Population) -> None:
    """Two engines owning half the suppliers each, with the same snapshot, rate every supplier
    as one engine owning all of them does: benchmarks and ranks are the population's."""
    suppliers, decls = population
    whole, _, frame = loaded(suppliers, decls)
    expected = emit(whole, whole.ratings(frame, NOW))
    ids = sorted(expected)
    for part in (ids[::2], ids[1::2]):
        worker, _, _ = loaded(suppliers, decls)
        got = emit(worker, worker.ratings(frame.filter(pl.col("supplier_id").is_in(part)), NOW))
        assert set(got) == set(part)
        for sid in part:
            assert rating_fingerprint(got[sid]) == rating_fingerprint(expected[sid])


def test_a_new_snapshot_re_rates_only_what_it_changes(population: Population) -> None:
    suppliers, decls = population
    engine, _, frame = loaded(suppliers, decls)
    first = emit(engine, engine.ratings(frame, NOW))
    owned = set(first)
    assert engine.rerate(NOW, owned) == []  # rated on this snapshot already
    engine.set_snapshot("all", engine.snapshot)  # the same snapshot again: no change
    assert not engine.snapshot_changed
    engine.set_snapshot("empty", Snapshot())  # no population: benchmarks and ranks change
    assert engine.snapshot_changed
    moved = emit(engine, engine.rerate(NOW, owned))
    assert not engine.snapshot_changed
    assert moved and all(r.revision == 2 for r in moved.values())
    for rating in moved.values():  # alone in the sector: percentile 0
        if rating.HasField("sector_percentile"):
            assert rating.sector_percentile == 0.0
    # back to the population's snapshot: the first ratings again, and nothing more after that
    engine.set_snapshot("all", snapshot(frame, engine.m))
    back = emit(engine, engine.rerate(NOW, owned))
    assert set(back) == set(moved)
    for sid, rating in back.items():
        assert rating_fingerprint(rating) == rating_fingerprint(first[sid])
    engine.set_snapshot("all again", snapshot(frame, engine.m))
    assert engine.rerate(NOW, owned) == []


def test_a_restarted_engine_resumes_from_the_indicators_records(population: Population) -> None:
    """What a worker publishes with each rating is enough for a new one to continue: the same
    states re-rate to nothing, a change continues the revisions."""
    suppliers, decls = population
    engine, states, frame = loaded(suppliers, decls)
    emissions = engine.ratings(frame, NOW)
    engine.confirm(emissions)
    restarted = ScoringEngine(Methodology.load())
    for emission in emissions:
        restarted.remember(
            benchmark_pb2.SupplierIndicators.FromString(emission.indicators.SerializeToString())
        )
    for s in suppliers:
        restarted.set_supplier(s)
    assert restarted.dirty == set()  # the registry is what the ratings used
    restarted.set_snapshot("all", engine.snapshot)
    assert restarted.ratings(restarted.update(states), NOW) == []
    assert restarted.rerate(NOW, set(states)) == []


def test_an_emitted_fingerprint_is_the_ledgers_fingerprint_of_the_rating(
    population: Population,
) -> None:
    engine, _, indicators = loaded(*population)
    emissions = engine.ratings(indicators, NOW)
    assert emissions
    for rating, record in emissions:
        assert rating.as_of.ToDatetime(UTC) == NOW  # volatile fields set after the fingerprint
        assert record.emitted.fingerprint == rating_fingerprint(rating)
