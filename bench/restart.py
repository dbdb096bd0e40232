"""Restart (issue #15): a scoring worker holding a large population is stopped and started
again; how long until it rates again.

The population's declarations are on the declarations topic before the worker first starts,
except those of the last ``HELD_OUT`` suppliers that declare. The worker rates the population once
(timed: the first load), is stopped, and is started again; right after the start the held-out
suppliers' declarations are produced. A rating of a held-out supplier can only come from the
restarted worker having read new input, so "rating again" is the first such rating on the
ratings topic, measured from the process start (goal: within 30 s). Also reported: when the
worker logged that it was ready, and when every held-out supplier was rated."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from bench.common import fresh_settings, peak_of, service
from bench.scoring import committed
from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.testing.flows import produce_declarations, produce_registry, sample_declarations
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import rating_pb2

HELD_OUT = 100
GOAL_S = 30.0
WATCH_S = 180.0
"""How long after the restart the held-out suppliers' ratings are waited for."""


def _wait_committed(
    settings: Settings, total: int, worker: ServiceProcess, budget: float
) -> tuple[float, int]:
    """(seconds, declarations committed) until the scoring group has committed ``total``
    declarations or ``budget`` seconds have passed."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    started, done = time.monotonic(), 0
    try:
        while time.monotonic() - started < budget:
            if not worker.running:
                raise RuntimeError(f"scoring exited:\n{worker.log_text()[-3000:]}")
            done = committed(admin, settings, settings.group("scoring"))
            if done >= total:
                break
            time.sleep(0.5)
    finally:
        admin.close()
    return time.monotonic() - started, done


def _ratings_from(settings: Settings) -> KafkaConsumer:
    """A consumer of the ratings topic positioned at its current end."""
    topic = settings.topic(topics.RATINGS)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:  # resolve the end offsets now, before the worker produces anything
        consumer.position(tp)
    return consumer


def run(bootstrap: str, workdir: Path, suppliers: int, budget: float = 900.0) -> dict[str, Any]:
    settings = fresh_settings(bootstrap, workdir / "restart", topic_partitions=3)
    registry, decls = sample_declarations(suppliers=suppliers + HELD_OUT, months=1, seed=29)
    declaring = sorted({d.supplier_id for d in decls})  # not every supplier has a valid one
    held = set(declaring[-HELD_OUT:])
    history = [d for d in decls if d.supplier_id not in held]
    fresh = [d for d in decls if d.supplier_id in held]
    produce_registry(settings, registry)
    produce_declarations(settings, history)

    worker = service("scoring", settings, workdir / "restart")
    started = time.monotonic()
    worker.start()
    try:
        worker.wait_for_log("scoring ready", within=300)
        _, loaded = _wait_committed(settings, len(history), worker, budget)
        first_load_s = time.monotonic() - started
        first_peak = peak_of(worker)
    finally:
        worker.stop()
    if loaded < len(history):
        raise RuntimeError(f"the worker read {loaded} of {len(history)} in {budget:.0f} s")

    ratings = _ratings_from(settings)
    seen: dict[str, float] = {}
    try:
        started = time.monotonic()
        worker.start()
        produce_declarations(settings, fresh)
        ready_s = None
        deadline = started + WATCH_S
        while len(seen) < len(held) and time.monotonic() < deadline:
            if ready_s is None and "scoring ready" in worker.log_text():
                ready_s = time.monotonic() - started
            if not worker.running:
                raise RuntimeError(f"scoring exited:\n{worker.log_text()[-3000:]}")
            for records in ratings.poll(timeout_ms=200).values():
                for record in records:
                    rating = rating_pb2.SupplierRating.FromString(record.value)
                    if rating.supplier_id in held:
                        seen.setdefault(rating.supplier_id, time.monotonic() - started)
        peak = peak_of(worker)
    finally:
        ratings.close()
        worker.stop()
    first = min(seen.values()) if seen else None
    return {
        "suppliers": suppliers,
        "declarations_held": len(history),
        "held_out_suppliers": len(held),
        "first_load_s": first_load_s,
        "restart": {
            "ready_log_s": ready_s,
            "first_new_rating_s": first,
            "all_held_out_rated_s": max(seen.values()) if len(seen) == len(held) else None,
            "held_out_rated": len(seen),
        },
        "peak_rss_mib": {"scoring_first_load": first_peak, "scoring_after_restart": peak},
        "scale": {
            "restart": {
                "suppliers": suppliers,
                "first_new_rating_s": first,
                "ready_log_s": ready_s,
                "watched_s": WATCH_S,
                "goal_s": GOAL_S,
                "met": first is not None and first <= GOAL_S,
            }
        },
    }
