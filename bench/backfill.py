"""Backfill (issue #20): a large history replayed through scoring from an empty state.

The history is written straight to Kafka before the worker starts (in the form ingest writes,
``batch`` by default, with :mod:`greenchain.common.batches`), month by month as it happened: a
sample population of :data:`TEMPLATE_SUPPLIERS` suppliers × 24 months (valid declarations from
the sample data generator) is cloned under new supplier ids until it holds the requested number of
declarations. Then one real scoring worker (``python -m greenchain.scoring``, empty table, empty
ratings topic) consumes it all; the benchmark reports declarations/s from its first commit until
every record is committed (from its "scoring ready" line: catching up, its first commit comes
after most of the work), the wall time from process start, and the worker's peak resident
memory (VmHWM).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import fresh_settings
from bench.history import Form, end_offsets, measure, write
from greenchain.common import topics
from greenchain.testing.flows import produce_registry, sample_declarations
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import declaration_pb2, supplier_pb2

PARTITIONS = 6
TEMPLATE_SUPPLIERS = 200
MONTHS = 24


def _clone_id(supplier_id: str, clone: int) -> str:
    return f"{supplier_id}-h{clone:04d}"


def population(
    declarations: int,
) -> tuple[list[supplier_pb2.Supplier], Iterator[declaration_pb2.Declaration]]:
    """About ``declarations`` declarations of cloned sample suppliers (registry, history in
    month order). The history is generated lazily: it is never all in memory."""
    registry, templates = sample_declarations(TEMPLATE_SUPPLIERS, MONTHS, seed=7)
    clones = math.ceil(declarations / len(templates))
    suppliers = []
    for clone in range(clones):
        for template in registry:
            supplier = supplier_pb2.Supplier()
            supplier.CopyFrom(template)
            supplier.supplier_id = _clone_id(template.supplier_id, clone)
            suppliers.append(supplier)
    by_month: dict[tuple[int, int], list[declaration_pb2.Declaration]] = defaultdict(list)
    for decl in templates:
        by_month[(decl.period.year, decl.period.month)].append(decl)
    return suppliers, _history(by_month, clones, declarations)


def _history(
    by_month: dict[tuple[int, int], list[declaration_pb2.Declaration]],
    clones: int,
    limit: int,
) -> Iterator[declaration_pb2.Declaration]:
    count = 0
    for month in sorted(by_month):
        for clone in range(clones):
            for template in by_month[month]:
                if count >= limit:
                    return
                decl = declaration_pb2.Declaration()
                decl.CopyFrom(template)
                decl.supplier_id = _clone_id(template.supplier_id, clone)
                decl.declaration_id = f"{template.declaration_id}-h{clone:04d}"
                count += 1
                yield decl


def run(
    bootstrap: str,
    workdir: Path,
    declarations: int,
    form: Form = "batch",
    batch_size: int = 500,
    budget: float = 1800.0,
) -> dict[str, Any]:
    """Replays ``declarations`` declarations through one scoring worker from an empty state."""
    base = workdir / "backfill"
    settings = fresh_settings(bootstrap, base, topic_partitions=PARTITIONS)
    started = time.monotonic()
    suppliers, history = population(declarations)
    produce_registry(settings, suppliers)
    topic = settings.topic(topics.DECLARATIONS)
    written = write(bootstrap, topic, PARTITIONS, history, form, batch_size)
    generated_s = time.monotonic() - started

    worker = ServiceProcess("scoring", settings, base / "scoring.log")
    started = time.monotonic()
    worker.start()
    try:
        worker.wait_for_log("scoring ready", within=300)
        result = measure(
            worker,
            bootstrap,
            settings.group("scoring"),
            topic,
            written,
            budget,
            started,
            ready=time.monotonic(),
        )
    finally:
        worker.stop()
    dead = end_offsets(bootstrap, settings.topic(topics.DECLARATIONS_DLQ))
    if dead:
        raise RuntimeError(
            f"the scoring worker dead-lettered {dead} of {written.records} {form} records; "
            f"see {base / 'scoring.log'}"
        )
    return {
        "declarations": written.declarations,
        "suppliers": len(suppliers),
        "months": MONTHS,
        "partitions": PARTITIONS,
        "form": form,
        "records": written.records,
        "history_written_s": generated_s,
        "budget_s": budget,
        **result.as_dict(),
        "overall_declarations_per_s": (
            written.declarations / result.wall_s if result.complete else None
        ),
    }
