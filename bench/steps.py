"""The scoring worker's CPU path per declaration, in one process and without Kafka.

Runs :class:`~greenchain.scoring.worker.ScoringSteps` (decode, apply, rate, confirm) over the
backfill's history (:func:`bench.backfill.population`) in the records ingest writes
(``DeclarationBatch`` records of up to ``--batch-size`` declarations of one partition, each with
its own trace context), a few records per micro-batch as faust hands them over. The table is a
dict that encodes every write as faust's changelog would (JSON), and every rating and its
indicators record are serialized and their trace parent extracted as
:meth:`ScoringWorker.emit` does. What this leaves out is Kafka and faust themselves: it measures
the part of a backfill (and of the peers' greenchain row) that greenchain's own code costs.

    python -m bench.steps --declarations 200000 [--catch-up] [--profile out.prof]

Prints declarations/s over the steps (history generation excluded), by wall time and by the
process's CPU time (steadier on a shared machine; polars' threads count in it).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.backfill import population
from bench.history import partition_batches
from greenchain.common.batches import BATCH_FORMAT_HEADER, encode_batch
from greenchain.common.telemetry import extract_context
from greenchain.scoring.engine import Emission, ScoringEngine
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.model import Methodology
from greenchain.scoring.worker import GC_THRESHOLDS, SETTLE_CHUNK, Headers, ScoringSteps
from greenchain.v1 import declaration_pb2

PARTITIONS = 6
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


class ChangelogTable(dict[str, Any]):
    """A dict as the table, paying what a faust table write costs in CPU: its JSON value."""

    def __setitem__(self, key: str, value: Any) -> None:
        orjson.dumps(value)
        super().__setitem__(key, value)


def records(
    declarations: Iterator[declaration_pb2.Declaration], batch_size: int, topic: str = "decls"
) -> list[Record]:
    """The records ingest would write for ``declarations``: per partition, batches of up to
    ``batch_size`` in order, each declaration with a W3C trace context of its own."""
    out: list[Record] = []
    offsets = [0] * PARTITIONS
    for partition, batch in partition_batches(declarations, PARTITIONS, batch_size):
        value = encode_batch(
            (decl, {"traceparent": f"00-{i:032x}-{i:016x}-01"}) for i, decl in enumerate(batch)
        )
        key = batch[0].supplier_id.encode()
        out.append(Record(key, value, [BATCH_FORMAT_HEADER], topic, partition, offsets[partition]))
        offsets[partition] += 1
    return out


def run_steps(
    steps: ScoringSteps, micro_batches: list[list[Record]], catch_up: bool = False
) -> tuple[int, str, float]:
    """Every micro-batch through the steps as the worker runs them (``catch_up``: as a worker
    far behind its input does, each supplier rated once at the end); returns the ratings
    emitted, a SHA-256 of their bytes in order (equal runs rate byte for byte the same) and the
    CPU seconds spent in :meth:`ScoringSteps.apply` (decode and state)."""
    emitted, digest, applying = 0, hashlib.sha256(), 0.0

    def send(emissions: list[Emission], origin: Callable[[str], Headers | None]) -> None:
        nonlocal emitted
        for rating, indicators in emissions:  # ScoringWorker.emit's CPU without the sends
            extract_context(origin(rating.supplier_id))
            digest.update(rating.SerializeToString())
            indicators.SerializeToString()
        steps.confirm(emissions)
        emitted += len(emissions)

    for micro in micro_batches:
        started = time.process_time()
        batch = steps.apply(micro, defer=catch_up)
        applying += time.process_time() - started
        if not catch_up:
            send(steps.rate(batch, AS_OF), batch.origin)
    unrated = steps.unrated
    while unrated:  # as ScoringWorker._settle
        chunk = list(itertools.islice(unrated, SETTLE_CHUNK))
        origins = {sid: unrated[sid] for sid in chunk}
        send(steps.rate_owed(chunk, AS_OF), origins.get)
        for sid in chunk:
            del unrated[sid]
    return emitted, digest.hexdigest(), applying


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declarations", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=500, help="declarations per record")
    parser.add_argument("--records", type=int, default=100, help="records per micro-batch")
    parser.add_argument(
        "--catch-up", action="store_true", help="as a worker catching up: each supplier rated once"
    )
    parser.add_argument("--profile", help="write a cProfile of the steps to this file")
    args = parser.parse_args(argv)

    registry, history = population(args.declarations)
    recs = records(history, args.batch_size)
    micro = [recs[i : i + args.records] for i in range(0, len(recs), args.records)]
    engine = ScoringEngine(Methodology.load())
    for supplier in registry:
        engine.set_supplier(supplier)
    steps = ScoringSteps(engine, ChangelogTable())
    declarations = sum(len(declaration_pb2.DeclarationBatch.FromString(r.value).declarations)
                       for r in recs)  # fmt: skip

    gc.set_threshold(*GC_THRESHOLDS)  # as the worker runs
    gc.collect()
    profile = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    emitted, digest, applying = run_steps(steps, micro, args.catch_up)
    if profile is not None:
        profile.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profile is not None:
        profile.dump_stats(args.profile)
    print(
        f"{declarations} declarations in {len(recs)} records, {len(micro)} micro-batches, "
        f"{len(registry)} suppliers: {elapsed:.2f} s, {declarations / elapsed:,.0f} "
        f"declarations/s; CPU {cpu:.2f} s ({applying:.2f} s in apply), "
        f"{declarations / cpu:,.0f} declarations/CPU-s; "
        f"{emitted} ratings (sha256 {digest[:16]})"
    )


if __name__ == "__main__":
    main()
