"""Who may call what: every principal against every RPC of both services, over TLS.

Ingest and ledger run as real processes with a tokens file and a certificate from a throwaway
CA; the clients trust that CA. The expected table below is the access policy (DESIGN.md
section 8): ``supplier:<id>`` posts and reads only its own data, ``chain:<id>`` reads only its
chain's suppliers, ``admin`` does everything; a missing or forged token is UNAUTHENTICATED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
import yaml
from google.protobuf.message import Message

from greenchain.client.ledger import LedgerClient
from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.testing.builders import envelope, rating, supplier
from greenchain.testing.certificates import ServerCertificate, server_certificate, untrusted_ca_pem
from greenchain.testing.flows import produce, produce_registry
from greenchain.testing.kafka_broker import free_port, isolated_settings
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ingest_pb2, ingest_pb2_grpc, ledger_pb2, ledger_pb2_grpc, rating_pb2

# Supplier A is in chain c1, supplier B in chain c2. Every call below is about A or c1.
# Supplier S is in both chains (with a purchase value from each): each chain must see S with
# its own membership only (the content tests at the end).
TOKENS = {
    "admin": "admin",
    "supplier-A": "supplier:A",
    "supplier-B": "supplier:B",
    "chain-c1": "chain:c1",
    "chain-c2": "chain:c2",
}
PRINCIPALS = [*TOKENS, "no-token", "forged-token"]

OK, DENIED, UNAUTH = "OK", "PERMISSION_DENIED", "UNAUTHENTICATED"
#                         admin  sup-A   sup-B   c1      c2      none    forged
POLICY: dict[str, tuple[str, ...]] = {
    "SubmitDeclaration": (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    "StreamDeclarations": (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    "UpsertSupplier": (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    "GetRating": (OK, OK, DENIED, OK, DENIED, UNAUTH, UNAUTH),
    "GetRatingHistory": (OK, OK, DENIED, OK, DENIED, UNAUTH, UNAUTH),
    "VerifyHistory": (OK, OK, DENIED, OK, DENIED, UNAUTH, UNAUTH),
    "ListRatings": (OK, DENIED, DENIED, OK, DENIED, UNAUTH, UNAUTH),
    "GetChainProgress": (OK, DENIED, DENIED, OK, DENIED, UNAUTH, UNAUTH),
    "WatchRatings": (OK, DENIED, DENIED, OK, DENIED, UNAUTH, UNAUTH),
    "GetCheckpoint": (OK, OK, OK, OK, OK, UNAUTH, UNAUTH),
    "GetConsistencyProof": (OK, OK, OK, OK, OK, UNAUTH, UNAUTH),
    "GetInclusionProof": (OK, OK, DENIED, OK, DENIED, UNAUTH, UNAUTH),
}
CASES = [
    (rpc, principal, expected)
    for rpc, row in POLICY.items()
    for principal, expected in zip(PRINCIPALS, row, strict=True)
]


@dataclass
class Secured:
    tls: ServerCertificate
    ingest_target: str
    ledger_target: str

    def channel(self, target: str, ca_pem: bytes | None = None) -> grpc.Channel:
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(ca_pem or self.tls.ca_pem))

    def __post_init__(self) -> None:
        self._channels = [self.channel(self.ingest_target), self.channel(self.ledger_target)]
        self.ingest = ingest_pb2_grpc.IngestServiceStub(self._channels[0])
        self.ledger = ledger_pb2_grpc.LedgerServiceStub(self._channels[1])

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


@pytest.fixture(scope="module")
def secured(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    workdir = tmp_path_factory.mktemp("access")
    tls = server_certificate(workdir / "tls")
    tokens = workdir / "tokens.yaml"
    tokens.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]}
        )
    )
    settings = isolated_settings(
        kafka_bootstrap,
        workdir,
        tokens_file=str(tokens),
        tls_cert_file=str(tls.cert_file),
        tls_key_file=str(tls.key_file),
        ingest_listen=f"127.0.0.1:{free_port()}",
        ledger_listen=f"127.0.0.1:{free_port()}",
    )
    ensure_topics(settings)
    produce_registry(settings, [supplier("A", chains=("c1",)), supplier("B", chains=("c2",))])
    ratings = [rating("A", 70.0, rating_pb2.READINESS_TIER_MUNICIPAL, 100.0, ("c1",))]
    ratings.append(rating("B", 40.0, rating_pb2.READINESS_TIER_NOT_YET, 100.0, ("c2",)))
    shared = rating("S", 60.0, rating_pb2.READINESS_TIER_MUNICIPAL, 100.0, ("c1", "c2"))
    shared.purchases.add(chain_id="c1", annual_purchase_value_cny=5e6)
    shared.purchases.add(chain_id="c2", annual_purchase_value_cny=7e6)
    ratings.append(shared)
    produce(
        settings,
        topic_names.RATINGS,
        ((r.supplier_id.encode(), r.SerializeToString()) for r in ratings),
    )
    processes = [
        ServiceProcess(name, settings, workdir / f"{name}.log") for name in ("ingest", "ledger")
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_for_log("started")
        running = Secured(tls, settings.ingest_listen, settings.ledger_listen)
        _wait_for_ledger(running)
        yield running
        running.close()
    finally:
        for process in processes:
            process.stop()


def _wait_for_ledger(secured: Secured) -> None:
    deadline = time.monotonic() + 30
    for supplier_id in ("A", "B", "S"):
        while True:
            try:
                secured.ledger.GetRating(
                    ledger_pb2.GetRatingRequest(supplier_id=supplier_id),
                    metadata=_metadata("admin"),
                    timeout=5,
                )
                break
            except grpc.RpcError as err:
                assert isinstance(err, grpc.Call)
                if err.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
            time.sleep(0.2)


def _metadata(principal: str) -> tuple[tuple[str, str], ...]:
    if principal == "no-token":
        return ()
    token = "7a3f-not-issued-by-anyone" if principal == "forged-token" else principal
    return (("authorization", f"Bearer {token}"),)


def _call(secured: Secured, rpc: str, md: tuple[tuple[str, str], ...]) -> str:
    """Makes the call; returns OK or the status name (in-stream rejections count)."""
    ingest, ledger = secured.ingest, secured.ledger
    decl = envelope("energy", supplier_id="A")
    calls: dict[str, Callable[[], object]] = {
        "SubmitDeclaration": lambda: ingest.SubmitDeclaration(decl, metadata=md, timeout=10),
        "StreamDeclarations": lambda: list(
            ingest.StreamDeclarations(iter([decl]), metadata=md, timeout=10)
        ),
        "UpsertSupplier": lambda: ingest.UpsertSupplier(
            supplier("A", chains=("c1",)), metadata=md, timeout=10
        ),
        "GetRating": lambda: ledger.GetRating(
            ledger_pb2.GetRatingRequest(supplier_id="A"), metadata=md, timeout=10
        ),
        "GetRatingHistory": lambda: ledger.GetRatingHistory(
            ledger_pb2.GetRatingHistoryRequest(supplier_id="A"), metadata=md, timeout=10
        ),
        "VerifyHistory": lambda: ledger.VerifyHistory(
            ledger_pb2.VerifyHistoryRequest(supplier_id="A"), metadata=md, timeout=10
        ),
        "ListRatings": lambda: ledger.ListRatings(
            ledger_pb2.ListRatingsRequest(chain_id="c1"), metadata=md, timeout=10
        ),
        "GetChainProgress": lambda: ledger.GetChainProgress(
            ledger_pb2.GetChainProgressRequest(chain_id="c1"), metadata=md, timeout=10
        ),
        "GetCheckpoint": lambda: ledger.GetCheckpoint(
            ledger_pb2.GetCheckpointRequest(), metadata=md, timeout=10
        ),
        "GetConsistencyProof": lambda: ledger.GetConsistencyProof(
            ledger_pb2.GetConsistencyProofRequest(first_size=1), metadata=md, timeout=10
        ),
        "GetInclusionProof": lambda: ledger.GetInclusionProof(
            ledger_pb2.GetInclusionProofRequest(
                supplier_entry=ledger_pb2.SupplierEntry(supplier_id="A")
            ),
            metadata=md,
            timeout=10,
        ),
        # a watch never ends by itself: still open at its deadline means it was allowed
        "WatchRatings": lambda: list(
            ledger.WatchRatings(
                ledger_pb2.WatchRatingsRequest(chain_id="c1"), metadata=md, timeout=2
            )
        ),
    }

    try:
        answer = calls[rpc]()
    except grpc.RpcError as err:
        assert isinstance(err, grpc.Call)
        if rpc == "WatchRatings" and err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return OK
        return str(err.code().name)
    if rpc == "StreamDeclarations":
        assert isinstance(answer, list)
        result: ingest_pb2.SubmitResult = answer[0]
        if result.WhichOneof("outcome") == "rejected":
            return next(c.name for c in grpc.StatusCode if c.value[0] == result.rejected.code)
    return OK


@pytest.mark.parametrize(
    ("rpc", "principal", "expected"), CASES, ids=[f"{r}-{p}" for r, p, _ in CASES]
)
def test_the_access_policy(secured: Secured, rpc: str, principal: str, expected: str) -> None:
    assert _call(secured, rpc, _metadata(principal)) == expected


@pytest.mark.parametrize("target", ["ingest", "ledger"])
def test_plaintext_and_untrusted_clients_are_refused(secured: Secured, target: str) -> None:
    address = secured.ingest_target if target == "ingest" else secured.ledger_target
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as plain:
        with pytest.raises(grpc.RpcError) as err:
            health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert isinstance(err.value, grpc.Call)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    with secured.channel(address, ca_pem=untrusted_ca_pem()) as stranger:
        with pytest.raises(grpc.RpcError) as err:
            health_pb2_grpc.HealthStub(stranger).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert isinstance(err.value, grpc.Call)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    with secured.channel(address) as trusting:
        answer = health_pb2_grpc.HealthStub(trusting).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_the_connector_and_the_ledger_client_speak_tls(secured: Secured) -> None:
    async def run() -> tuple[int, list[str]]:
        ca = secured.tls.ca_pem
        connector = Connector(secured.ingest_target, token="supplier-A", root_certificates=ca)
        summary = await connector.send([Item(envelope("emissions", supplier_id="A"), 0)])
        ledger = LedgerClient(secured.ledger_target, token="chain-c1", root_certificates=ca)
        return summary.accepted, [r.supplier_id async for r in ledger.all_ratings("c1")]

    assert asyncio.run(run()) == (1, ["A", "S"])


# What each principal is shown (issue 19, item 8): the content, not only the status ----------


def _memberships(ratings: list[rating_pb2.SupplierRating]) -> dict[str, tuple[list[str], ...]]:
    """supplier -> (chain ids, purchase chain ids) as shown."""
    return {r.supplier_id: (list(r.chain_ids), [p.chain_id for p in r.purchases]) for r in ratings}


def _no_chain_but(message: Message, chain: str) -> None:
    """No other chain id anywhere in the ratings of an answer (checkpoint notes left out: their
    base64 could hold any two letters by chance)."""
    copy = type(message)()
    copy.CopyFrom(message)
    if copy.DESCRIPTOR.fields_by_name.get("checkpoint") is not None:
        copy.ClearField("checkpoint")
    if isinstance(copy, ledger_pb2.InclusionProof):
        copy.entry.ClearField("checkpoint")
    rival = {"c1": b"c2", "c2": b"c1"}[chain]
    assert rival not in copy.SerializeToString(), copy


@pytest.mark.parametrize("chain", ["c1", "c2"])
def test_a_chains_list_holds_its_suppliers_with_its_membership_only(
    secured: Secured, chain: str
) -> None:
    answer = secured.ledger.ListRatings(
        ledger_pb2.ListRatingsRequest(chain_id=chain),
        metadata=_metadata(f"chain-{chain}"),
        timeout=10,
    )
    own = "A" if chain == "c1" else "B"
    assert _memberships(list(answer.ratings)) == {own: ([chain], []), "S": ([chain], [chain])}
    assert answer.total_size == 2
    _no_chain_but(answer, chain)


def test_admin_lists_every_supplier_with_every_membership(secured: Secured) -> None:
    answer = secured.ledger.ListRatings(
        ledger_pb2.ListRatingsRequest(), metadata=_metadata("admin"), timeout=10
    )
    assert _memberships(list(answer.ratings)) == {
        "A": (["c1"], []),
        "B": (["c2"], []),
        "S": (["c1", "c2"], ["c1", "c2"]),
    }


def test_a_chain_reading_a_shared_supplier_sees_only_itself_in_every_rpc(
    secured: Secured,
) -> None:
    md = _metadata("chain-c1")
    ledger = secured.ledger
    got = ledger.GetRating(ledger_pb2.GetRatingRequest(supplier_id="S"), metadata=md, timeout=10)
    history = ledger.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="S"), metadata=md, timeout=10
    )
    proof = ledger.GetInclusionProof(
        ledger_pb2.GetInclusionProofRequest(
            supplier_entry=ledger_pb2.SupplierEntry(supplier_id="S", sequence=1)
        ),
        metadata=md,
        timeout=10,
    )
    watched: list[ledger_pb2.LedgerEntry] = []
    with pytest.raises(grpc.RpcError) as err:  # the backlog from index 0, then the deadline
        for entry in ledger.WatchRatings(
            ledger_pb2.WatchRatingsRequest(chain_id="c1", from_index=0), metadata=md, timeout=3
        ):
            watched.append(entry)
    assert isinstance(err.value, grpc.Call)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert sorted(e.supplier_id for e in watched) == ["A", "S"]
    entries = [got, *history.entries, proof.entry, *watched]
    assert {e.supplier_id for e in [got, *history.entries, proof.entry]} == {"S"}
    for entry in entries:
        assert "c2" not in entry.rating.chain_ids
        assert all(p.chain_id == "c1" for p in entry.rating.purchases)
        assert (entry.leaf, entry.entry_hash, entry.previous_hash) == (b"", b"", b"")
    for answer in (got, history, proof, *watched):
        _no_chain_but(answer, "c1")
    progress = ledger.GetChainProgress(
        ledger_pb2.GetChainProgressRequest(chain_id="c1"), metadata=md, timeout=10
    )
    assert (progress.chain_id, progress.suppliers) == ("c1", 2)


def test_admin_gets_the_shared_supplier_in_full_with_a_leaf(secured: Secured) -> None:
    got = secured.ledger.GetRating(
        ledger_pb2.GetRatingRequest(supplier_id="S"), metadata=_metadata("admin"), timeout=10
    )
    assert list(got.rating.chain_ids) == ["c1", "c2"] and len(got.rating.purchases) == 2
    logged = ledger_pb2.LogEntry.FromString(got.leaf)
    assert logged.rating == got.rating.SerializeToString(deterministic=True)
    assert len(got.entry_hash) == 32


def test_a_supplier_sees_itself_only_and_in_full(secured: Secured) -> None:
    md = _metadata("supplier-A")
    ledger = secured.ledger
    got = ledger.GetRating(ledger_pb2.GetRatingRequest(supplier_id="A"), metadata=md, timeout=10)
    history = ledger.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="A"), metadata=md, timeout=10
    )
    verified = ledger.VerifyHistory(
        ledger_pb2.VerifyHistoryRequest(supplier_id="A"), metadata=md, timeout=10
    )
    proof = ledger.GetInclusionProof(
        ledger_pb2.GetInclusionProofRequest(
            supplier_entry=ledger_pb2.SupplierEntry(supplier_id="A", sequence=1)
        ),
        metadata=md,
        timeout=10,
    )
    assert got.supplier_id == got.rating.supplier_id == "A" and list(got.rating.chain_ids) == ["c1"]
    assert {e.supplier_id for e in history.entries} == {"A"} and history.entries
    assert (verified.supplier_id, verified.intact) == ("A", True)
    assert proof.entry.supplier_id == "A" and proof.entry.leaf == history.entries[0].leaf
    logged = ledger_pb2.LogEntry.FromString(got.leaf)  # its own entries come with their leaves
    assert logged.supplier_id == "A"
    assert logged.rating == got.rating.SerializeToString(deterministic=True)
    for other in ("B", "S"):
        with pytest.raises(grpc.RpcError) as err:
            ledger.GetRating(
                ledger_pb2.GetRatingRequest(supplier_id=other), metadata=md, timeout=10
            )
        assert isinstance(err.value, grpc.Call)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
