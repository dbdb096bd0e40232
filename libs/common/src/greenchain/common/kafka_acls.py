"""Who may do what on greenchain's Kafka topics: one SCRAM principal per service, least
privilege, and the admin step that creates the users, the topics and the ACLs.

The broker denies what no ACL allows (``allow.everyone.if.no.acl.found=false``), so a client
without a login, or with another service's login, cannot write the ratings topic the ledger
appends as genuine, nor the registry that grants chains read access. Run once per deployment
(and per topic namespace) as the admin principal::

    GREENCHAIN_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT GREENCHAIN_KAFKA_USERNAME=admin \\
    GREENCHAIN_KAFKA_PASSWORD_FILE=/run/secrets/admin python -m greenchain.common.kafka_acls \\
        [--users-from DIR]

``--users-from DIR`` also creates (or updates) the SCRAM-SHA-512 users ingest, scoring and
ledger from ``DIR/<service>.password`` (mounted Secrets); ``scripts/kafka.sh up --secure``
creates them itself when it formats the broker.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from pathlib import Path

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import client_security

log = logging.getLogger(__name__)

SERVICES = ("ingest", "scoring", "ledger")
SCRAM_ITERATIONS = 8192  # what Kafka's own kafka-configs tool uses for SCRAM-SHA-512

_Grant = tuple[ResourceType, str, ACLResourcePatternType, tuple[ACLOperation, ...]]

_READ = (ACLOperation.READ, ACLOperation.DESCRIBE)
_WRITE = (ACLOperation.WRITE, ACLOperation.DESCRIBE)


def _topic(name: str, *operations: ACLOperation) -> _Grant:
    return (ResourceType.TOPIC, name, ACLResourcePatternType.LITERAL, operations)


def service_grants(settings: Settings) -> dict[str, list[_Grant]]:
    """What each service may do, in ``settings``' topic namespace.

    Every service may describe the greenchain topics (names and partitions: its start-up checks
    that they exist) but read or write only the data path it is part of:

    * ingest writes declarations (and reads them: its index of stored declaration ids), the
      supplier registry and chains, reads the registry;
    * scoring reads declarations and the registry, writes ratings (reads them too: at a restart
      the ones after the last its indicators records name, ``scoring/resume.py``) and the DLQ,
      reads and writes its own indicators and benchmarks topics (population snapshots shared by
      its workers), owns its consumer group and faust's internal topics (the table's changelog
      and the leader topic, prefixed with its app id);
    * ledger reads ratings and chains, writes and reads its sequence topic, writes checkpoints,
      and owns its consumer group.
    """
    t = settings.topic
    describe_all: _Grant = (
        ResourceType.TOPIC,
        t("greenchain."),
        ACLResourcePatternType.PREFIXED,
        (ACLOperation.DESCRIBE,),
    )
    scoring_internal = settings.group("scoring") + "-"  # faust: <app id>-<table>-changelog
    return {
        "ingest": [
            describe_all,
            # read too: the declaration index (idempotency by declaration id) follows it
            _topic(t(topics.DECLARATIONS), *_WRITE, ACLOperation.READ),
            _topic(t(topics.SUPPLIERS), *_WRITE, ACLOperation.READ),
            _topic(t(topics.CHAINS), *_WRITE),
        ],
        "scoring": [
            describe_all,
            _topic(t(topics.DECLARATIONS), *_READ),
            _topic(t(topics.SUPPLIERS), *_READ),
            # read too: a restart reads the ratings its indicators records do not name yet
            _topic(t(topics.RATINGS), *_WRITE, ACLOperation.READ),
            _topic(t(topics.DECLARATIONS_DLQ), *_WRITE),
            _topic(t(topics.INDICATORS), *_READ, ACLOperation.WRITE),
            _topic(t(topics.BENCHMARKS), *_READ, ACLOperation.WRITE),
            (
                ResourceType.TOPIC,
                scoring_internal,
                ACLResourcePatternType.PREFIXED,
                (*_READ, ACLOperation.WRITE, ACLOperation.CREATE, ACLOperation.DESCRIBE_CONFIGS),
            ),
            (
                ResourceType.GROUP,
                settings.group("scoring"),
                ACLResourcePatternType.LITERAL,
                _READ,
            ),
        ],
        "ledger": [
            describe_all,
            _topic(t(topics.RATINGS), *_READ),
            _topic(t(topics.CHAINS), *_READ),
            _topic(t(topics.LEDGER_SEQUENCE), *_READ, ACLOperation.WRITE),
            _topic(t(topics.LEDGER_CHECKPOINTS), *_WRITE),
            (
                ResourceType.GROUP,
                settings.group("ledger"),
                ACLResourcePatternType.LITERAL,
                _READ,
            ),
        ],
    }


def service_acls(settings: Settings, principals: Mapping[str, str] | None = None) -> list[ACL]:
    """The ALLOW ACLs of :func:`service_grants`; ``principals`` maps a service to its SASL
    user (default: the service's name)."""
    names = {service: service for service in SERVICES} | dict(principals or {})
    acls: list[ACL] = []
    for service, grants in service_grants(settings).items():
        for resource_type, name, pattern, operations in grants:
            for operation in operations:
                acls.append(
                    ACL(
                        principal=f"User:{names[service]}",
                        host="*",
                        operation=operation,
                        permission_type=ACLPermissionType.ALLOW,
                        resource_pattern=ResourcePattern(resource_type, name, pattern),
                    )
                )
    return acls


def _admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="greenchain-admin",
        **client_security(settings),
    )


def ensure_acls(settings: Settings, principals: Mapping[str, str] | None = None) -> int:
    """Creates the services' ACLs (creating an existing ACL is a no-op in Kafka); returns how
    many were asked for. Raises if the broker refused any."""
    acls = service_acls(settings, principals)
    admin = _admin(settings)
    try:
        result = admin.create_acls(acls)
    finally:
        admin.close()
    if result["failed"]:
        raise RuntimeError(f"Kafka refused ACLs: {result['failed'][:3]}")
    return len(acls)


def ensure_users(settings: Settings, passwords: Mapping[str, str]) -> None:
    """Creates or updates SCRAM-SHA-512 users (``user -> password``)."""
    admin = _admin(settings)
    try:
        admin.alter_user_scram_credentials(
            [
                UserScramCredentialUpsertion(
                    user, ScramMechanism.SCRAM_SHA_512, password, iterations=SCRAM_ITERATIONS
                )
                for user, password in passwords.items()
            ]
        )
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    """The admin step: users (optional), topics, ACLs; exits 0 once all exist."""
    parser = argparse.ArgumentParser(prog="python -m greenchain.common.kafka_acls")
    parser.add_argument(
        "--users-from",
        type=Path,
        help="folder with <service>.password files: create or update those SCRAM users",
    )
    parser.add_argument(
        "--principal",
        action="append",
        default=[],
        metavar="SERVICE=USER",
        help="SASL user of a service when it is not the service's name",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    principals = dict(p.split("=", 1) for p in args.principal)
    unknown = set(principals) - set(SERVICES)
    if unknown:
        parser.error(f"--principal: unknown service {sorted(unknown)}; use {SERVICES}")
    if args.users_from:
        ensure_users(
            settings,
            {
                principals.get(s, s): (args.users_from / f"{s}.password").read_text().strip()
                for s in SERVICES
            },
        )
    created = topics.ensure_topics(settings)
    count = ensure_acls(settings, principals)
    log.info("topics created: %s; %d ACLs in place", created or "none", count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
