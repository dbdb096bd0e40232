"""Scoring engine at scale (no Kafka): the cost of one micro-batch as the population grows.

The engine holds a population of N suppliers (their indicators, last emitted ratings and the
snapshot built from them); a micro-batch of 400 declarations touches 400 of them. Goal (issue
#15): cost(1M) <= 2 x cost(1k), and <= 50 ms at 1M. Also measured: the cost of a new snapshot
(built by the leader) and of re-rating the owned population on it, which follow the population
by design and run on a timer, not per batch.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import polars as pl

from bench.workloads import model_inputs
from greenchain.scoring.engine import Emitted, ScoringEngine
from greenchain.scoring.model import Methodology, snapshot, supplier_indicators
from greenchain.scoring.snapshots import snapshot_message
from greenchain.scoring.state import SupplierState, apply
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import declaration_pb2

BATCH = 400
RERATE_UP_TO = 100_000
"""Re-rating the whole owned population is timed up to this size (1M all-changed: minutes)."""
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _population(size: int, base: pl.DataFrame) -> pl.DataFrame:
    """``size`` suppliers' indicators: ``base`` repeated under new ids (same distribution)."""
    copies = -(-size // base.height)
    frames = [
        base.with_columns((pl.lit(f"p{i}-") + pl.col("supplier_id")).alias("supplier_id"))
        for i in range(copies)
    ]
    return pl.concat(frames).head(size)


def _batches(count: int) -> tuple[ScoringEngine, list[list[declaration_pb2.Declaration]]]:
    """An engine knowing BATCH suppliers' registry and history, and ``count`` batches of one
    new declaration per supplier each."""
    suppliers, decls = sample_declarations(suppliers=BATCH, months=12, seed=11)
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    energy = {d.supplier_id: d for d in decls if d.WhichOneof("body") == "energy"}
    batches = []
    for b in range(count):
        batch = []
        for template in energy.values():
            decl = declaration_pb2.Declaration()
            decl.CopyFrom(template)
            decl.declaration_id = f"{template.declaration_id}-b{b}"
            decl.submitted_at.seconds += 3600 * (b + 1)
            decl.energy.electricity_kwh *= 1.0 + 0.01 * (b + 1)
            batch.append(decl)
        batches.append(batch)
    engine.states = {}  # type: ignore[attr-defined]
    for decl in decls:
        apply(engine.states.setdefault(decl.supplier_id, {}), decl)  # type: ignore[attr-defined]
    return engine, batches


def _batch_cost(engine: ScoringEngine, batch: list[declaration_pb2.Declaration]) -> float:
    states: dict[str, SupplierState] = engine.states  # type: ignore[attr-defined]
    started = time.perf_counter()
    touched: dict[str, SupplierState] = {}
    for decl in batch:
        state = touched.get(decl.supplier_id) or dict(states[decl.supplier_id])
        if apply(state, decl):
            touched[decl.supplier_id] = state
    emissions = engine.ratings(engine.update(touched), NOW)
    engine.confirm(emissions)
    elapsed = time.perf_counter() - started
    states.update(touched)
    return elapsed


def run(sizes: list[int]) -> dict[str, Any]:
    m = Methodology.load()
    declarations, registry = model_inputs(min(max(sizes), 10_000), months=12)
    base = supplier_indicators(declarations, registry, m)
    del declarations
    results: dict[str, Any] = {"batch_declarations": BATCH, "populations": {}}
    for size in sizes:
        engine, batches = _batches(6)
        population = _population(size, base)
        started = time.perf_counter()
        snap = snapshot(population, m)
        message = snapshot_message(snap, m, population.height)
        snapshot_s = time.perf_counter() - started
        engine.set_snapshot(message.snapshot_id, snap)
        engine._population = population  # the owned population (as after a load)
        for sid in population.get_column("supplier_id"):
            engine.emitted[sid] = Emitted(1, "", (0.0, 0, None, 0, ""), "")
        _batch_cost(engine, batches[0])  # warm-up: first ratings of the batch's suppliers
        costs = [_batch_cost(engine, batch) for batch in batches[1:]]
        figures: dict[str, Any] = {
            "batch_ms_median": round(statistics.median(costs) * 1000, 1),
            "batch_ms_max": round(max(costs) * 1000, 1),
            "snapshot_build_s": round(snapshot_s, 2),
            "snapshot_bytes": message.ByteSize(),
        }
        if size <= RERATE_UP_TO:
            # the worst case of a new snapshot: every owned rating changes and is rebuilt
            # (~0.15-0.25 ms each), then the usual case: the same snapshot again, nothing rebuilt
            owned = set(population.get_column("supplier_id").to_list())
            started = time.perf_counter()
            engine.confirm(engine.rerate(NOW, owned))
            figures["rerate_all_changed_s"] = round(time.perf_counter() - started, 2)
            engine.set_snapshot("again", snap)
            started = time.perf_counter()
            assert engine.rerate(NOW, owned) == []
            figures["rerate_none_changed_s"] = round(time.perf_counter() - started, 2)
        results["populations"][str(size)] = figures
        del engine, population
    smallest, largest = str(min(sizes)), str(max(sizes))
    results["cost_ratio_largest_to_smallest"] = round(
        results["populations"][largest]["batch_ms_median"]
        / results["populations"][smallest]["batch_ms_median"],
        2,
    )
    return {"scale": {"scoring_engine": results}}  # issue #15's figures share one key


if __name__ == "__main__":
    import json

    print(json.dumps(run([1_000, 10_000]), indent=2))
