"""The Kafka topics of greenchain and their idempotent creation.

Keys are supplier ids everywhere, so one supplier's records stay in order on one partition and
the scoring worker that owns the partition owns the supplier's state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from greenchain.common.config import Settings
from greenchain.common.kafka import client_security

log = logging.getLogger(__name__)

DECLARATIONS = "greenchain.declarations.v1"
"""Declarations accepted by ingest (key supplier_id, value protobuf Declaration)."""
SUPPLIERS = "greenchain.suppliers.v1"
"""Supplier registry, compacted (key supplier_id, value protobuf Supplier)."""
RATINGS = "greenchain.ratings.v1"
"""Ratings computed by scoring (key supplier_id, value protobuf SupplierRating)."""
CHAINS = "greenchain.chains.v1"
"""Chain leaders, compacted (key chain_id, value protobuf Chain): name, credit code and green
supply-chain designation, shown with the chain's progress."""
INDICATORS = "greenchain.indicators.v1"
"""Scoring-internal, compacted (key supplier_id, value protobuf SupplierIndicators): the
indicators behind each supplier's latest rating and that rating's summary. The benchmark stage
builds population snapshots from it; a restarted worker resumes revisions from it."""
BENCHMARKS = "greenchain.benchmarks.v1"
"""Scoring-internal, compacted, one partition (key ``snapshot``, value protobuf
BenchmarkSnapshot): the population snapshot every scoring worker rates against."""
DECLARATIONS_DLQ = "greenchain.declarations.dlq.v1"
"""What scoring could not decode or accept: original bytes, reason in headers."""
LEDGER_SEQUENCE = "greenchain.ledger.sequence.v1"
"""The ratings in the ledger's order: one partition, kept forever. Every ledger replica copies
the ratings it reads here (header ``greenchain-source`` = ratings partition:offset) and builds
its Merkle log from this topic alone, so every replica has the same leaves in the same order."""
LEDGER_CHECKPOINTS = "greenchain.ledger.checkpoints.v1"
"""Signed checkpoints of the ledger's Merkle log, compacted (key ``<origin> <key name>``, value
the C2SP signed note), for witnesses and auditors to keep."""

_KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: full name, partitions and topic-level configs."""

    name: str
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)


def changelog_config(settings: Settings) -> dict[str, str]:
    """Topic configs every greenchain topic gets, and faust's changelog topics with them: with
    acks=all a write succeeds only once ``min.insync.replicas`` replicas have it."""
    return {"min.insync.replicas": str(settings.min_insync_replicas)}


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic greenchain needs, named in the settings' namespace.

    Declarations and ratings are kept forever: they are the source of truth from which scoring
    state and the ledger can be rebuilt. The registry is compacted (latest entry per supplier).
    Scoring's indicators topic is compacted and partitioned like the declarations; its
    benchmarks topic is compacted with one partition. The ledger's sequence topic has one
    partition (one order for every replica) and is kept
    forever; its checkpoints topic is compacted (latest checkpoint per signer).
    """
    p, r = settings.topic_partitions, settings.topic_replication
    min_isr = changelog_config(settings)
    return [
        TopicSpec(settings.topic(DECLARATIONS), p, r, {**_KEEP_FOREVER, **min_isr}),
        TopicSpec(settings.topic(RATINGS), p, r, {**_KEEP_FOREVER, **min_isr}),
        TopicSpec(
            settings.topic(SUPPLIERS),
            p,
            r,
            {"cleanup.policy": "compact", "retention.ms": "-1", **min_isr},
        ),
        TopicSpec(settings.topic(LEDGER_SEQUENCE), 1, r, {**_KEEP_FOREVER, **min_isr}),
        TopicSpec(
            settings.topic(LEDGER_CHECKPOINTS),
            1,
            r,
            {"cleanup.policy": "compact", "retention.ms": "-1", **min_isr},
        ),
        TopicSpec(
            settings.topic(CHAINS),
            1,
            r,
            {"cleanup.policy": "compact", "retention.ms": "-1", **min_isr},
        ),
        TopicSpec(
            settings.topic(INDICATORS),
            p,
            r,
            {"cleanup.policy": "compact", "retention.ms": "-1", **min_isr},
        ),
        TopicSpec(
            settings.topic(BENCHMARKS),
            1,
            r,
            {"cleanup.policy": "compact", "retention.ms": "-1", **min_isr},
        ),
        TopicSpec(
            settings.topic(DECLARATIONS_DLQ),
            1,
            r,
            {"retention.ms": str(30 * 24 * 3600 * 1000), **min_isr},
        ),
    ]


def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the names created. Idempotent."""
    specs = topic_specs(settings) if specs is None else specs
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="greenchain-admin",
        **client_security(settings),
    )
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        for spec in missing:
            try:
                topic = NewTopic(
                    spec.name, spec.partitions, spec.replication, topic_configs=spec.config
                )
                admin.create_topics([topic])
                created.append(spec.name)
            except TopicAlreadyExistsError:  # created concurrently by another service
                pass
        if created:
            log.info("created topics %s", created)
        return created
    finally:
        admin.close()
