"""Peers (issue #20): greenchain's scoring worker against the stream processors a user would
pick instead, on the same broker, the same declarations and in the same run.

Every consumer reads every declaration (its own consumer group), one after the other so none
shares the two cores with another:

- greenchain's ``ScoringWorker`` process, on its own copy of the declarations in the form ingest
  writes (``batch``: ``DeclarationBatch`` records; ``single``: one declaration per record);
- a Quix Streams application doing the naive agent's job with per-key state (``bench.quix_peer``),
  and Quix's no-op consumer (decode every record, nothing else);
- faust's no-op agent and the naive per-event faust agent (``bench.naive_agent``);
- Kafka's ConsumerPerformance on both copies (the broker's ceiling, in records).

The peers read one declaration per record, as their users would write them. Rates count from
each consumer's first commit until every record is committed (or the budget ends); greenchain's
worker from its ready line (catching up, its first commit comes after most of its work).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.backfill import MONTHS, population
from bench.common import fresh_settings
from bench.history import Form, Measured, Written, end_offsets, measure, write
from bench.kafka_tools import consumer_performance
from bench.quix_peer import NOOP_GROUP, SCORING_GROUP
from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.testing.flows import produce_registry
from greenchain.testing.processes import ServiceProcess

PARTITIONS = 6

# name -> what it is (the table's first column)
CONSUMERS = {
    "greenchain": "greenchain scoring worker",
    "quix_scoring": "Quix Streams, same job (per-key State, plain Python)",
    "quix_noop": "Quix Streams no-op (decode only)",
    "faust_noop": "faust no-op agent (decode only)",
    "naive_faust_agent": "naive faust agent, same job",
    "consumer_performance": "Kafka ConsumerPerformance, one declaration per record",
    "consumer_performance_batched": "Kafka ConsumerPerformance, greenchain's records",
}


def _run(
    name: str,
    make: Callable[[], ServiceProcess],
    ready: str,
    group: str,
    settings: Settings,
    written: Written,
    budget: float,
    from_ready: bool = False,
) -> Measured:
    process = make()
    started = time.monotonic()
    process.start()
    try:
        process.wait_for_log(ready, within=180)
        return measure(
            process,
            settings.kafka_bootstrap_servers,
            group,
            settings.topic(topics.DECLARATIONS),
            written,
            budget,
            started,
            ready=time.monotonic() if from_ready else None,
        )
    except Exception as exc:
        raise RuntimeError(f"peer {name} failed") from exc
    finally:
        process.stop()


def run(
    bootstrap: str,
    workdir: Path,
    declarations: int,
    form: Form = "batch",
    batch_size: int = 500,
    budget: float = 120.0,
) -> dict[str, Any]:
    """Measures every consumer of :data:`CONSUMERS` on ``declarations`` sample declarations
    (24 months of cloned sample suppliers, :func:`bench.backfill.population`); greenchain's
    records in ``form``. A consumer slower than ``declarations / budget`` is measured on what it
    did within ``budget`` seconds."""
    base = workdir / "peers"
    registry, history = population(declarations)
    decls = list(history)
    peer = fresh_settings(bootstrap, base / "peer", topic_partitions=PARTITIONS)
    ours = fresh_settings(bootstrap, base / "greenchain", topic_partitions=PARTITIONS)
    for settings in (peer, ours):
        produce_registry(settings, registry)
    peer_topic, our_topic = peer.topic(topics.DECLARATIONS), ours.topic(topics.DECLARATIONS)
    peer_written = write(bootstrap, peer_topic, PARTITIONS, decls, "single")
    our_written = write(bootstrap, our_topic, PARTITIONS, decls, form, batch_size)

    def module(name: str, module: str, **env: str) -> Callable[[], ServiceProcess]:
        return lambda: ServiceProcess(name, peer, base / f"{name}.log", module=module, **env)

    measured: dict[str, Measured] = {}
    measured["greenchain"] = _run(
        "greenchain",
        lambda: ServiceProcess("scoring", ours, base / "scoring.log"),
        "scoring ready",
        ours.group("scoring"),
        ours,
        our_written,
        budget,
        from_ready=True,
    )
    dead = end_offsets(bootstrap, ours.topic(topics.DECLARATIONS_DLQ))
    if dead:  # e.g. a worker that does not read this form: its rate would mean nothing
        raise RuntimeError(
            f"the scoring worker dead-lettered {dead} of {our_written.records} {form} records; "
            f"see {base / 'scoring.log'}"
        )
    state_dir = str(base / "quix-state")
    quix = "bench.quix_peer"
    naive = "bench.naive_agent"
    runs: list[tuple[str, Callable[[], ServiceProcess], str, str]] = [
        ("quix_scoring", module("quix-scoring", quix, BENCH_QUIX_STATE_DIR=state_dir),
         "quix peer ready", SCORING_GROUP),
        ("quix_noop", module("quix-noop", quix, BENCH_QUIX_NOOP="1",
                             BENCH_QUIX_STATE_DIR=state_dir), "quix peer ready", NOOP_GROUP),
        ("faust_noop", module("faust-noop", naive, BENCH_NAIVE_NOOP="1"),
         "naive agent ready", "bench-noop"),
        ("naive_faust_agent", module("naive-agent", naive), "naive agent ready", "bench-naive"),
    ]  # fmt: skip
    for name, make, ready, group in runs:
        measured[name] = _run(name, make, ready, peer.group(group), peer, peer_written, budget)

    consumers: dict[str, dict[str, Any]] = {n: m.as_dict() for n, m in measured.items()}
    peer_ceiling = consumer_performance(bootstrap, peer_topic, peer_written.records)
    our_ceiling = consumer_performance(bootstrap, our_topic, our_written.records)
    per_record = our_written.declarations / our_written.records
    consumers["consumer_performance"] = {
        "records_per_s": peer_ceiling,
        "declarations_per_s": peer_ceiling,
    }
    consumers["consumer_performance_batched"] = {
        "records_per_s": our_ceiling,
        "declarations_per_s": our_ceiling * per_record,
    }
    ours_rate = consumers["greenchain"]["declarations_per_s"]
    return {
        "declarations": len(decls),
        "suppliers": len(registry),
        "months": MONTHS,
        "partitions": PARTITIONS,
        "greenchain_form": form,
        "greenchain_records": our_written.records,
        "declarations_per_greenchain_record": per_record,
        "budget_s": budget,
        "consumers": consumers,
        "greenchain_ratio": {
            name: ours_rate / c["declarations_per_s"] if c["declarations_per_s"] else None
            for name, c in consumers.items()
            if name != "greenchain"
        },
    }
