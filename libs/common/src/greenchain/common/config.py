"""One frozen settings object, read from environment variables.

Every service takes a :class:`Settings`; nothing else reads the environment. :data:`ENVIRONMENT`
lists every variable with its default and meaning (README.md shows the same table).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any


def _env(name: str, default: str | int | float, doc: str) -> Any:
    """A settings field bound to environment variable ``name``; its type is the default's."""
    return field(default=default, metadata={"env": name, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Runtime configuration shared by all services."""

    kafka_bootstrap_servers: str = _env(
        "GREENCHAIN_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", "Kafka bootstrap servers"
    )
    topic_namespace: str = _env(
        "GREENCHAIN_TOPIC_NAMESPACE",
        "",
        "prefix of every topic and consumer group (isolates tests or tenants on one cluster); "
        "a value without a trailing '.', '-' or '_' gets a '.'",
    )
    topic_partitions: int = _env(
        "GREENCHAIN_TOPIC_PARTITIONS", 6, "partitions of the topics greenchain creates"
    )
    topic_replication: int = _env(
        "GREENCHAIN_TOPIC_REPLICATION", 1, "replication factor of the topics greenchain creates"
    )
    topic_min_insync_replicas: int = _env(
        "GREENCHAIN_TOPIC_MIN_INSYNC_REPLICAS",
        0,
        "min.insync.replicas of the topics greenchain creates (faust's changelogs too): replicas "
        "that must have a record before acks=all succeeds; 0 = min(2, replication)",
    )
    kafka_security_protocol: str = _env(
        "GREENCHAIN_KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "PLAINTEXT (loopback dev broker) | SASL_PLAINTEXT (SASL login, every Kafka client)",
    )
    kafka_sasl_mechanism: str = _env(
        "GREENCHAIN_KAFKA_SASL_MECHANISM",
        "SCRAM-SHA-512",
        "SASL mechanism: SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN",
    )
    kafka_username: str = _env(
        "GREENCHAIN_KAFKA_USERNAME", "", "SASL user (the service's Kafka principal)"
    )
    kafka_password: str = _env(
        "GREENCHAIN_KAFKA_PASSWORD", "", "SASL password (prefer the password file)"
    )
    kafka_password_file: str = _env(
        "GREENCHAIN_KAFKA_PASSWORD_FILE",
        "",
        "file holding the SASL password (a mounted Secret); read when a client is made",
    )
    otel_exporter: str = _env(
        "GREENCHAIN_OTEL_EXPORTER", "none", "trace exporter: none | console | otlp | file:<path>"
    )
    otel_endpoint: str = _env(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317", "OTLP/gRPC collector endpoint"
    )
    log_format: str = _env(
        "GREENCHAIN_LOG_FORMAT",
        "console",
        "log lines: console (readable) | json (one object per line, with trace_id/span_id)",
    )
    metrics_host: str = _env(
        "GREENCHAIN_METRICS_HOST",
        "127.0.0.1",
        "address the services' Prometheus endpoints (/metrics, /healthz, /readyz) listen on",
    )
    ingest_metrics_port: int = _env(
        "GREENCHAIN_INGEST_METRICS_PORT", 0, "ingest's Prometheus endpoint port; 0 = off"
    )
    scoring_metrics_port: int = _env(
        "GREENCHAIN_SCORING_METRICS_PORT",
        0,
        "scoring's Prometheus endpoint port (also its /healthz and /readyz probes); 0 = off",
    )
    ledger_metrics_port: int = _env(
        "GREENCHAIN_LEDGER_METRICS_PORT", 0, "ledger's Prometheus endpoint port; 0 = off"
    )
    tokens_file: str = _env(
        "GREENCHAIN_TOKENS_FILE",
        "",
        "bearer tokens file (sha256 of token -> principal), re-read when it changes; empty = "
        "no auth, and then services listen on loopback only (see GREENCHAIN_INSECURE_DEV)",
    )
    insecure_dev: int = _env(
        "GREENCHAIN_INSECURE_DEV",
        0,
        "1 = development only: a service without tokens file may listen beyond loopback, and "
        "clients may send tokens over plaintext to non-loopback addresses",
    )
    rate_limit_per_second: float = _env(
        "GREENCHAIN_RATE_LIMIT_PER_SECOND",
        50.0,
        "calls per second each principal may make to ingest and the ledger (token bucket "
        "refill; 0 = no limit; off without a tokens file)",
    )
    rate_limit_burst: int = _env(
        "GREENCHAIN_RATE_LIMIT_BURST",
        200,
        "calls a principal may make at once before the per-second rate applies (bucket size)",
    )
    tls_cert_file: str = _env(
        "GREENCHAIN_TLS_CERT_FILE",
        "",
        "server TLS certificate (PEM), re-read when it changes; needs GREENCHAIN_TLS_KEY_FILE",
    )
    tls_key_file: str = _env(
        "GREENCHAIN_TLS_KEY_FILE",
        "",
        "server TLS private key (PEM), re-read when it changes; needs GREENCHAIN_TLS_CERT_FILE",
    )
    tls_client_ca_file: str = _env(
        "GREENCHAIN_TLS_CLIENT_CA_FILE",
        "",
        "server: CA certificate (PEM) of client certificates; set = mTLS, every client must "
        "present a certificate it signed",
    )
    tls_ca_file: str = _env(
        "GREENCHAIN_TLS_CA_FILE",
        "",
        "CA certificate (PEM) that clients and the console trust; set = talk TLS to the services",
    )
    tls_client_cert_file: str = _env(
        "GREENCHAIN_TLS_CLIENT_CERT_FILE",
        "",
        "client certificate (PEM) that clients, the console and health checks present (mTLS)",
    )
    tls_client_key_file: str = _env(
        "GREENCHAIN_TLS_CLIENT_KEY_FILE", "", "private key (PEM) of the client certificate"
    )
    ingest_listen: str = _env(
        "GREENCHAIN_INGEST_LISTEN", "127.0.0.1:50051", "ingest gRPC listen address"
    )
    ingest_max_in_flight: int = _env(
        "GREENCHAIN_INGEST_MAX_IN_FLIGHT",
        1000,
        "declarations of one stream awaiting Kafka before the server stops reading it",
    )
    ingest_max_stream_length: int = _env(
        "GREENCHAIN_INGEST_MAX_STREAM_LENGTH", 1_000_000, "declarations in one stream at most"
    )
    ingest_batch_linger_seconds: float = _env(
        "GREENCHAIN_INGEST_BATCH_LINGER_SECONDS",
        0.005,
        "longest wait to fill one Kafka record of declarations for one partition, s",
    )
    ingest_batch_max_count: int = _env(
        "GREENCHAIN_INGEST_BATCH_MAX_COUNT", 500, "declarations in one Kafka record at most"
    )
    ingest_batch_max_bytes: int = _env(
        "GREENCHAIN_INGEST_BATCH_MAX_BYTES",
        262144,
        "declaration bytes in one Kafka record at most (one larger declaration goes alone)",
    )
    ingest_reuse_port: int = _env(
        "GREENCHAIN_INGEST_REUSE_PORT",
        0,
        "1 = several ingest processes may listen on one port (SO_REUSEPORT: the kernel spreads "
        "connections across them); 0 = a port in use fails the start",
    )
    ingest_dedup_window_seconds: float = _env(
        "GREENCHAIN_INGEST_DEDUP_WINDOW_SECONDS",
        3600.0,
        "a declaration resent within this many seconds of its first copy is not stored again "
        "(idempotency by declaration id), s",
    )
    ingest_dedup_max_ids: int = _env(
        "GREENCHAIN_INGEST_DEDUP_MAX_IDS",
        2_000_000,
        "declaration ids ingest keeps for that at most (memory bound; the window shrinks)",
    )
    max_message_bytes: int = _env(
        "GREENCHAIN_MAX_MESSAGE_BYTES", 65536, "largest gRPC message accepted, bytes"
    )
    ledger_listen: str = _env(
        "GREENCHAIN_LEDGER_LISTEN", "127.0.0.1:50052", "ledger gRPC listen address"
    )
    ingest_target: str = _env(
        "GREENCHAIN_INGEST_TARGET",
        "",
        "host:port where clients reach ingest; empty = the ingest listen address",
    )
    ledger_target: str = _env(
        "GREENCHAIN_LEDGER_TARGET",
        "",
        "host:port where clients and the console reach the ledger; empty = the ledger listen "
        "address",
    )
    console_listen: str = _env(
        "GREENCHAIN_CONSOLE_LISTEN", "127.0.0.1:8080", "web console HTTP listen address"
    )
    console_stale_months: int = _env(
        "GREENCHAIN_CONSOLE_STALE_MONTHS",
        3,
        "console alert: a supplier whose data is this many months behind its chain's newest",
    )
    ledger_db: str = _env("GREENCHAIN_LEDGER_DB", "var/ledger.sqlite3", "ledger SQLite file")
    ledger_origin: str = _env(
        "GREENCHAIN_LEDGER_ORIGIN",
        "greenchain.local/ledger",
        "origin (name) of the ledger's Merkle log, first line of its signed checkpoints",
    )
    ledger_key_file: str = _env(
        "GREENCHAIN_LEDGER_KEY_FILE",
        "",
        "checkpoint signing key (`greenchain keygen`; a file or mounted Secret); empty = an "
        "ephemeral key (local dev only)",
    )
    ledger_watch_max_lag: int = _env(
        "GREENCHAIN_LEDGER_WATCH_MAX_LAG",
        10000,
        "log entries a WatchRatings stream may fall behind before it is cut off (it resumes "
        "with from_index)",
    )
    scoring_data_dir: str = _env(
        "GREENCHAIN_SCORING_DATA_DIR", "var/scoring", "faust worker data directory"
    )
    scoring_store: str = _env(
        "GREENCHAIN_SCORING_STORE", "memory://", "faust table store: memory:// | rocksdb://"
    )
    scoring_batch_size: int = _env(
        "GREENCHAIN_SCORING_BATCH_SIZE",
        2000,
        "Kafka records per micro-batch at most (a record holds one declaration or a batch)",
    )
    scoring_batch_seconds: float = _env(
        "GREENCHAIN_SCORING_BATCH_SECONDS", 0.2, "longest wait to fill a micro-batch, s"
    )
    scoring_catch_up_records: int = _env(
        "GREENCHAIN_SCORING_CATCH_UP_RECORDS",
        1000,
        "records behind the end of its partitions above which a scoring worker catches up: it "
        "applies declarations and rates each supplier once when caught up; 0 = rate every batch",
    )
    scoring_catch_up_seconds: float = _env(
        "GREENCHAIN_SCORING_CATCH_UP_SECONDS",
        300.0,
        "longest a catching-up scoring worker owes ratings before it rates what it has read, s",
    )
    scoring_emit_retry_seconds: float = _env(
        "GREENCHAIN_SCORING_EMIT_RETRY_SECONDS",
        120.0,
        "how long scoring retries a batch Kafka did not accept, then stops unacknowledged",
    )
    scoring_keep_months: int = _env(
        "GREENCHAIN_SCORING_KEEP_MONTHS",
        24,
        "months of declarations scoring keeps per supplier, back from its latest emissions or "
        "energy month; at least the methodology's window_months (the rest is a margin)",
    )
    supplier_max_declarations: int = _env(
        "GREENCHAIN_SUPPLIER_MAX_DECLARATIONS",
        400,
        "declarations kept per supplier in the kept months (one per site, month and kind, and "
        "per product); one more is refused (RESOURCE_EXHAUSTED at ingest, dead letter at scoring)",
    )
    supplier_max_products: int = _env(
        "GREENCHAIN_SUPPLIER_MAX_PRODUCTS",
        100,
        "distinct product ids with footprints per supplier in the kept months; one more is refused",
    )
    supplier_max_tombstones: int = _env(
        "GREENCHAIN_SUPPLIER_MAX_TOMBSTONES",
        200,
        "withdrawn PACT footprints remembered per supplier (the oldest are forgotten first)",
    )
    methodology_file: str = _env(
        "GREENCHAIN_METHODOLOGY_FILE", "", "rating methodology YAML; empty = the packaged default"
    )

    def __post_init__(self) -> None:
        if self.log_format not in ("console", "json"):
            raise ValueError(f"GREENCHAIN_LOG_FORMAT={self.log_format!r}: use console or json")
        self._check_kafka_security()
        if not 0 <= self.topic_min_insync_replicas <= self.topic_replication:
            raise ValueError(
                f"GREENCHAIN_TOPIC_MIN_INSYNC_REPLICAS={self.topic_min_insync_replicas}: "
                f"use 0 (automatic) to {self.topic_replication} (the replication factor)"
            )
        namespace = self.topic_namespace
        if namespace and not _NAMESPACE.fullmatch(namespace):
            raise ValueError(
                f"GREENCHAIN_TOPIC_NAMESPACE={namespace!r}: use letters, digits, '.', '-' or '_'"
            )
        if namespace and namespace[-1] not in ".-_":  # "acme" would make "acmegreenchain..."
            object.__setattr__(self, "topic_namespace", namespace + ".")

    def _check_kafka_security(self) -> None:
        """A half-configured Kafka login is a start-up error, not a silent plaintext client."""
        protocol, mechanism = self.kafka_security_protocol, self.kafka_sasl_mechanism
        if protocol not in KAFKA_SECURITY_PROTOCOLS:
            raise ValueError(
                f"GREENCHAIN_KAFKA_SECURITY_PROTOCOL={protocol!r}: use one of "
                + ", ".join(KAFKA_SECURITY_PROTOCOLS)
            )
        if mechanism not in KAFKA_SASL_MECHANISMS:
            raise ValueError(
                f"GREENCHAIN_KAFKA_SASL_MECHANISM={mechanism!r}: use one of "
                + ", ".join(KAFKA_SASL_MECHANISMS)
            )
        if self.kafka_password and self.kafka_password_file:
            raise ValueError(
                "GREENCHAIN_KAFKA_PASSWORD and GREENCHAIN_KAFKA_PASSWORD_FILE are both set: use one"
            )
        login = self.kafka_username or self.kafka_password or self.kafka_password_file
        if protocol == "PLAINTEXT" and login:
            raise ValueError(
                "a Kafka user or password is set but GREENCHAIN_KAFKA_SECURITY_PROTOCOL is "
                "PLAINTEXT: set it to SASL_PLAINTEXT (or unset the login)"
            )
        if protocol != "PLAINTEXT" and not (
            self.kafka_username and (self.kafka_password or self.kafka_password_file)
        ):
            raise ValueError(
                f"GREENCHAIN_KAFKA_SECURITY_PROTOCOL={protocol} needs GREENCHAIN_KAFKA_USERNAME "
                "and GREENCHAIN_KAFKA_PASSWORD or GREENCHAIN_KAFKA_PASSWORD_FILE"
            )

    @property
    def min_insync_replicas(self) -> int:
        """min.insync.replicas of greenchain's topics: the setting, else min(2, replication)."""
        return self.topic_min_insync_replicas or min(2, self.topic_replication)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``environ`` (default ``os.environ``), then explicit ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None:
                continue
            convert: Any = type(f.default)  # str, int or float
            try:
                values[f.name] = convert(raw)
            except ValueError:
                raise ValueError(f"{f.metadata['env']}={raw!r} is not a valid {f.type}") from None
        return replace(cls(**values), **overrides)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some values changed."""
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables (to start a service process with them)."""
        return {f.metadata["env"]: str(getattr(self, f.name)) for f in fields(self)}

    def topic(self, base: str) -> str:
        """The full name of topic ``base`` (e.g. ``greenchain.ratings.v1``) in this namespace."""
        return f"{self.topic_namespace}{base}"

    def group(self, service: str) -> str:
        """The consumer group id of ``service`` in this namespace."""
        return f"{self.topic_namespace}greenchain-{service}"

    def metrics_port(self, service: str) -> int:
        """The Prometheus endpoint port of ``service`` (0 = off, also for services without)."""
        ports = {
            "ingest": self.ingest_metrics_port,
            "scoring": self.scoring_metrics_port,
            "ledger": self.ledger_metrics_port,
        }
        return ports.get(service, 0)

    @property
    def ingest_address(self) -> str:
        """Where a client reaches ingest: the target, else the listen address (0.0.0.0 and
        [::] mean this machine)."""
        return self.ingest_target or _local(self.ingest_listen)

    @property
    def ledger_address(self) -> str:
        """Where a client or the console reaches the ledger (see :attr:`ingest_address`)."""
        return self.ledger_target or _local(self.ledger_listen)


KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT")
"""What the Kafka clients speak; TLS to Kafka (SASL_SSL) is not offered yet."""
KAFKA_SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")

_NAMESPACE = re.compile(r"[A-Za-z0-9._-]+")
"""Kafka topic names allow these characters only."""


def _local(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "[::]", "") else listen


ENVIRONMENT: list[tuple[str, str, str]] = [
    (f.metadata["env"], str(f.default), f.metadata["doc"]) for f in fields(Settings)
]
"""(variable, default, meaning) of every setting, for docs and ``greenchain config``."""
