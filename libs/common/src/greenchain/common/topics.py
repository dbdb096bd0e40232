"""The Kafka topics of greenchain and their idempotent creation.

Keys are supplier ids everywhere, so one supplier's records stay in order on one partition and
the scoring worker that owns the partition owns the supplier's state.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

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

SCORING_TABLE = "declarations"
"""The scoring worker's faust table (supplier id -> state), backed by a changelog topic."""

METADATA_WAIT_SECONDS = 30.0
"""How long :func:`ensure_topics` waits for every broker to know every topic."""

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


def scoring_changelog(settings: Settings) -> str:
    """The changelog topic of scoring's faust table (faust names it ``<app id>-<table>-changelog``;
    the app id is scoring's consumer group)."""
    return f"{settings.group('scoring')}-{SCORING_TABLE}-changelog"


def scoring_leader_topic(settings: Settings) -> str:
    """faust's leader-election topic of the scoring app (``<app id>-__assignor-__leader``): the
    worker assigned its one partition is the leader, which runs the benchmark stage."""
    return f"{settings.group('scoring')}-__assignor-__leader"


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


def scoring_specs(settings: Settings) -> list[TopicSpec]:
    """What a scoring worker makes before faust starts: greenchain's topics and faust's own of
    the scoring app, as faust would make them (changelog compacted and partitioned like its
    source, the declarations; leader topic one partition). faust creates a missing one itself
    and uses it at once, and on a multi-broker cluster the broker its consumer asks may not
    know the topic yet: the consumer then counts 0 partitions for the changelog (faust raises
    PartitionsMismatch at the first table write) and the assignor leaves the missing topics
    out (no table recovery, no leader). Only scoring may see these two (ACLs), so they are not
    in :func:`topic_specs`, which every service ensures."""
    p, r = settings.topic_partitions, settings.topic_replication
    min_isr = changelog_config(settings)
    return [
        *topic_specs(settings),
        TopicSpec(scoring_changelog(settings), p, r, {"cleanup.policy": "compact", **min_isr}),
        TopicSpec(scoring_leader_topic(settings), 1, r, dict(min_isr)),
    ]


class TopicsNotReady(RuntimeError):
    """Some broker's metadata still lacks a topic (or a partition, or a partition's leader)."""


async def _unknown(settings: Settings, specs: list[TopicSpec]) -> list[str]:
    """``topic@broker`` for every topic some live broker does not yet show with all its
    partitions and a leader for each. Each broker is asked on its own: after a topic is created
    the brokers learn of it from the controller's metadata log one by one, and a client's
    metadata comes from whichever broker it asks."""
    client = AIOKafkaClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, **client_security(settings)
    )
    try:
        await client.bootstrap()
        names = [spec.name for spec in specs]
        unknown: list[str] = []
        for broker in sorted(client.cluster.brokers(), key=lambda b: b.nodeId):
            try:
                response = await client.send(broker.nodeId, MetadataRequest(names, False))
            except KafkaError as exc:  # not reachable (just died?): it tells no client anything
                log.warning("broker %s did not answer a metadata request: %r", broker.nodeId, exc)
                continue
            seen = ClusterMetadata()
            seen.update_metadata(response)
            unknown += [
                f"{spec.name}@{broker.nodeId}"
                for spec in specs
                if len(seen.available_partitions_for_topic(spec.name) or ()) != spec.partitions
            ]
        return unknown
    finally:
        await client.close()


def wait_until_known(
    settings: Settings, specs: list[TopicSpec], within: float = METADATA_WAIT_SECONDS
) -> None:
    """Returns once every live broker's metadata shows every topic of ``specs`` whole (all its
    partitions, each with a leader); raises :class:`TopicsNotReady` after ``within`` seconds."""

    def check() -> list[str]:
        # ensure_topics is synchronous and also called from inside event loops: own loop, own
        # thread
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, _unknown(settings, specs)).result()

    retrying = Retrying(
        stop=stop_after_delay(within),
        wait=wait_fixed(0.2),
        # not known yet, or no broker answered the bootstrap (the cluster may be restarting)
        retry=retry_if_result(bool) | retry_if_exception_type(KafkaError),
        reraise=False,
    )
    try:
        retrying(check)
    except RetryError as exc:
        last = exc.last_attempt
        why = last.exception() or last.result()
        raise TopicsNotReady(f"not in every broker's metadata after {within:.0f} s: {why}") from exc


def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create the topics that do not exist yet and wait until every live broker knows them all
    (:func:`wait_until_known`); returns the names created. Idempotent."""
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
    finally:
        admin.close()
    # also when this call created nothing: another process may have created them a moment ago
    wait_until_known(settings, specs)
    return created
