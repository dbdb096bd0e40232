"""Scoring throughput: the micro-batched polars worker vs the naive per-event faust agent vs
Kafka's ConsumerPerformance, all reading the same declarations topic; and 1 vs 2 worker
processes in one group (issue #15: adding a worker adds capacity), each on a topic namespace of
its own holding the same declarations."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

from bench.common import fresh_settings, peak_of, service
from bench.kafka_tools import consumer_performance
from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.testing.flows import produce_declarations, produce_registry, sample_declarations
from greenchain.testing.kafka_broker import free_port
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import declaration_pb2, supplier_pb2

WORKER_PARTITIONS = 6
"""Partitions of the declarations topic in the 1 vs 2 workers measure (3 each for 2 workers)."""


def committed(admin: KafkaAdminClient, settings: Settings, group: str) -> int:
    """Records of the declarations topic the group has committed (all partitions)."""
    offsets = admin.list_group_offsets(group).get(group, {})
    topic = settings.topic(topics.DECLARATIONS)
    return sum(o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset > 0)


def consume_rate(
    settings: Settings,
    group: str,
    total: int,
    process: ServiceProcess | Sequence[ServiceProcess],
    budget: float,
) -> tuple[float, int]:
    """(records/s, records) from the first committed progress until ``total`` records are
    committed or ``budget`` seconds have passed (then the rate of what was done); fails if
    a ``process`` (the group's members) dies."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    members = [process] if isinstance(process, ServiceProcess) else list(process)
    try:
        return _consume_rate(admin, settings, group, total, members, budget)
    finally:
        admin.close()


def _consume_rate(
    admin: KafkaAdminClient,
    settings: Settings,
    group: str,
    total: int,
    members: list[ServiceProcess],
    budget: float,
) -> tuple[float, int]:
    deadline = time.monotonic() + 600
    start_count, started = 0, 0.0
    while time.monotonic() < deadline:  # the first commit marks the start of steady work
        for process in members:
            if not process.running or "Crashed reason" in process.log_text():
                raise RuntimeError(f"{process.service} failed:\n{process.log_text()[-3000:]}")
        start_count = committed(admin, settings, group)
        if start_count > 0:
            started = time.monotonic()
            break
        time.sleep(0.1)
    count, now = start_count, started
    while count < total and now - started < budget:
        time.sleep(0.2)
        count, now = committed(admin, settings, group), time.monotonic()
    done = count - start_count
    return done / (now - started), done


def _naive(settings: Settings, workdir: Path, total: int, noop: bool) -> tuple[float, int, float]:
    """(records/s, records measured, peak MiB) of the naive agent (or its no-op variant)."""
    name = "noop-agent" if noop else "naive-agent"
    env = {"BENCH_NAIVE_NOOP": "1"} if noop else {}
    agent = ServiceProcess(
        name, settings, workdir / "scoring" / f"{name}.log", module="bench.naive_agent", **env
    ).start()
    group = settings.group("bench-noop" if noop else "bench-naive")
    try:
        agent.wait_for_log("naive agent ready", within=120)
        rate, done = consume_rate(settings, group, total, agent, budget=40)
        return rate, done, peak_of(agent)
    finally:
        agent.stop()


def scoring_workers(
    bootstrap: str,
    workdir: Path,
    registry: Sequence[supplier_pb2.Supplier],
    decls: Sequence[declaration_pb2.Declaration],
    count: int,
) -> tuple[float, int, list[float]]:
    """(declarations/s, declarations measured, peak MiB of each) of ``count`` scoring
    processes in one group reading ``decls`` from a topic namespace of their own
    (WORKER_PARTITIONS partitions, so that 2 workers get an even share)."""
    settings = fresh_settings(
        bootstrap, workdir / f"workers-{count}", topic_partitions=WORKER_PARTITIONS
    )
    produce_registry(settings, registry)
    produce_declarations(settings, decls)
    members = [
        ServiceProcess(
            "scoring",
            settings.with_(
                scoring_data_dir=f"{settings.scoring_data_dir}-{n}",
                scoring_metrics_port=free_port(),
            ),
            workdir / f"workers-{count}" / f"scoring-{n}.log",
        )
        for n in range(1, count + 1)
    ]
    try:
        for member in members:
            member.start()
        for member in members:
            member.wait_for_log("scoring ready", within=120)
        rate, done = consume_rate(
            settings, settings.group("scoring"), len(decls), members, budget=300
        )
        return rate, done, [peak_of(m) for m in members]
    finally:
        for member in members:
            member.stop()


def run(bootstrap: str, workdir: Path, suppliers: int, months: int) -> dict[str, Any]:
    settings = fresh_settings(bootstrap, workdir / "scoring", topic_partitions=3)
    registry, decls = sample_declarations(suppliers=suppliers, months=months, seed=11)
    produce_registry(settings, registry)
    produce_declarations(settings, decls)
    total = len(decls)

    worker = service("scoring", settings, workdir / "scoring").start()
    try:
        worker.wait_for_log("scoring ready", within=120)
        polars_rate, polars_done = consume_rate(
            settings, settings.group("scoring"), total, worker, budget=300
        )
        polars_mib = peak_of(worker)
    finally:
        worker.stop()

    naive_rate, naive_done, naive_mib = _naive(settings, workdir, total, noop=False)
    noop_rate, _, _ = _naive(settings, workdir, total, noop=True)

    ceiling = consumer_performance(bootstrap, settings.topic(topics.DECLARATIONS), total)
    workers = {
        str(n): scoring_workers(bootstrap, workdir / "scoring", registry, decls, n) for n in (1, 2)
    }
    by_workers: dict[str, dict[str, Any]] = {
        n: {
            "declarations_per_s": rate,
            "measured_declarations": done,
            "peak_rss_mib": peaks,
            "share_of_consumer_performance": rate / ceiling,
            "vs_naive_faust_agent": rate / naive_rate,
        }
        for n, (rate, done, peaks) in workers.items()
    }
    return {
        "declarations": total,
        "suppliers": suppliers,
        "declarations_per_s": {
            "polars_worker": polars_rate,
            "naive_faust_agent": naive_rate,
            "faust_noop_agent": noop_rate,
            "kafka_consumer_performance": ceiling,
        },
        "measured_declarations": {"polars_worker": polars_done, "naive_faust_agent": naive_done},
        "speedup_vs_naive": polars_rate / naive_rate,
        "share_of_ceiling": polars_rate / ceiling,
        "peak_rss_mib": {"scoring": polars_mib, "naive_faust_agent": naive_mib},
        "scale": {
            "scoring_workers": {
                "declarations": total,
                "suppliers": suppliers,
                "partitions": WORKER_PARTITIONS,
                "workers": by_workers,
                "two_vs_one": by_workers["2"]["declarations_per_s"]
                / by_workers["1"]["declarations_per_s"],
                "kafka_consumer_performance_per_s": ceiling,
                "naive_faust_agent_per_s": naive_rate,
            }
        },
    }
