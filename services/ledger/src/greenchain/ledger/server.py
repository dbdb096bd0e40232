"""The LedgerService: ratings, history, live updates and chain progress, with access control.

Access (DESIGN.md section 8): ``admin`` sees everything; ``chain:<id>`` sees the suppliers of
its chain; ``supplier:<id>`` sees itself only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.common import topics
from greenchain.common.auth import Principal, TokenStore, authenticate, load_store
from greenchain.common.config import Settings
from greenchain.common.grpc_server import Context, abort, abort_invalid
from greenchain.common.kafka import CompactedTopicReader
from greenchain.common.service import GrpcService
from greenchain.ledger.consumer import RatingsConsumer
from greenchain.ledger.progress import chain_progress
from greenchain.ledger.store import Entry, LedgerStore
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, supplier_pb2

log = logging.getLogger(__name__)

SERVICE_NAME = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name
DEFAULT_PAGE, MAX_PAGE = 50, 1000
ORDERS = {
    ledger_pb2.RATING_ORDER_UNSPECIFIED: "score_desc",
    ledger_pb2.RATING_ORDER_SCORE_DESC: "score_desc",
    ledger_pb2.RATING_ORDER_SCORE_ASC: "score_asc",
    ledger_pb2.RATING_ORDER_SUPPLIER_ID: "supplier_id",
}
WATCH_QUEUE = 1000


def to_entry(entry: Entry) -> ledger_pb2.LedgerEntry:
    recorded = Timestamp()
    recorded.FromNanoseconds(int(entry.recorded_at * 1e9))
    return ledger_pb2.LedgerEntry(
        supplier_id=entry.supplier_id,
        sequence=entry.sequence,
        rating=entry.rating,
        previous_hash=entry.previous_hash,
        entry_hash=entry.entry_hash,
        recorded_at=recorded,
    )


def _filter_key(request: ledger_pb2.ListRatingsRequest) -> str:
    """What a page token is bound to: the same query with another page."""
    copy = ledger_pb2.ListRatingsRequest()
    copy.CopyFrom(request)
    copy.ClearField("page_token")
    copy.ClearField("page_size")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()[:16]


def encode_token(request: ledger_pb2.ListRatingsRequest, score: float, supplier_id: str) -> str:
    data = {"q": _filter_key(request), "s": score, "id": supplier_id}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def decode_token(request: ledger_pb2.ListRatingsRequest) -> tuple[float, str] | None:
    if not request.page_token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(request.page_token.encode()))
        if data["q"] != _filter_key(request):
            raise ValueError("the token belongs to another query")
        return float(data["s"]), str(data["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"bad page_token: {exc}") from None


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(self, store: LedgerStore, tokens: TokenStore | None) -> None:
        self.store = store
        self.tokens = tokens
        self.chains: dict[str, supplier_pb2.Chain] = {}  # chain leaders (greenchain.chains.v1)
        self._watchers: set[tuple[asyncio.Queue[Entry | None], str]] = set()

    def on_chain(self, key: bytes, value: bytes | None) -> None:
        """A chain leader record: kept to show with the chain's progress."""
        if value is None:
            self.chains.pop(key.decode(errors="replace"), None)
            return
        try:
            chain = supplier_pb2.Chain.FromString(value)
        except DecodeError:
            log.warning("skipping undecodable chain record %r", key)
            return
        self.chains[chain.chain_id] = chain

    # live updates -------------------------------------------------------------------------

    def publish(self, entries: list[Entry]) -> None:
        """Called by the consumer after each committed batch."""
        for queue, chain in list(self._watchers):
            for entry in entries:
                if chain and chain not in entry.rating.chain_ids:
                    continue
                if queue.qsize() >= WATCH_QUEUE:  # a watcher that does not keep up is cut off
                    self._watchers.discard((queue, chain))
                    queue.put_nowait(None)
                    break
                queue.put_nowait(entry)

    # access -------------------------------------------------------------------------------

    async def _may_read_supplier(
        self, principal: Principal, supplier_id: str, context: Context
    ) -> None:
        if principal.is_admin:
            return
        if principal.kind == "supplier" and principal.id == supplier_id:
            return
        if principal.kind == "chain" and self.store.in_chain(principal.id, supplier_id):
            return
        await abort(
            context, grpc.StatusCode.PERMISSION_DENIED, f"{principal} may not read {supplier_id!r}"
        )

    async def _chain_for(self, principal: Principal, chain_id: str, context: Context) -> str:
        """The chain the caller may query: its own, or any (admin; empty = all)."""
        if principal.is_admin:
            return chain_id
        if principal.kind == "chain" and chain_id in ("", principal.id):
            return principal.id
        await abort(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            f"{principal} may not read chain {chain_id!r}",
        )

    # RPCs ---------------------------------------------------------------------------------

    async def GetRating(
        self, request: ledger_pb2.GetRatingRequest, context: Context
    ) -> ledger_pb2.LedgerEntry:
        principal = await authenticate(self.tokens, context)
        if not request.supplier_id:
            await abort_invalid(context, "supplier_id is required", [("supplier_id", "required")])
        await self._may_read_supplier(principal, request.supplier_id, context)
        entry = self.store.current(request.supplier_id)
        if entry is None:
            await abort(
                context, grpc.StatusCode.NOT_FOUND, f"no rating for {request.supplier_id!r} yet"
            )
        return to_entry(entry)

    async def ListRatings(
        self, request: ledger_pb2.ListRatingsRequest, context: Context
    ) -> ledger_pb2.ListRatingsResponse:
        principal = await authenticate(self.tokens, context)
        chain = await self._chain_for(principal, request.chain_id, context)
        violations = []
        if request.page_size < 0 or request.page_size > MAX_PAGE:
            violations.append(("page_size", f"must be 0..{MAX_PAGE} (0 = {DEFAULT_PAGE})"))
        try:
            after = decode_token(request)
        except ValueError as exc:
            violations.append(("page_token", str(exc)))
            after = None
        if violations:
            await abort_invalid(context, "invalid request", violations)
        limit = request.page_size or DEFAULT_PAGE
        order = ORDERS.get(request.order, "score_desc")
        ratings, total = self.store.query_current(
            chain,
            request.sector_code,
            list(request.grades),
            list(request.tiers),
            request.min_score if request.HasField("min_score") else None,
            request.max_score if request.HasField("max_score") else None,
            order,
            after,
            limit + 1,
        )
        response = ledger_pb2.ListRatingsResponse(ratings=ratings[:limit], total_size=total)
        if len(ratings) > limit:
            last = ratings[limit - 1]
            response.next_page_token = encode_token(request, last.total_score, last.supplier_id)
        return response

    async def GetRatingHistory(
        self, request: ledger_pb2.GetRatingHistoryRequest, context: Context
    ) -> ledger_pb2.GetRatingHistoryResponse:
        principal = await authenticate(self.tokens, context)
        await self._may_read_supplier(principal, request.supplier_id, context)
        since = request.since.ToNanoseconds() / 1e9 if request.HasField("since") else None
        until = request.until.ToNanoseconds() / 1e9 if request.HasField("until") else None
        entries = self.store.history(request.supplier_id, since, until)
        return ledger_pb2.GetRatingHistoryResponse(entries=[to_entry(e) for e in entries])

    async def WatchRatings(
        self, request: ledger_pb2.WatchRatingsRequest, context: Context
    ) -> AsyncIterator[ledger_pb2.LedgerEntry]:
        principal = await authenticate(self.tokens, context)
        chain = await self._chain_for(principal, request.chain_id, context)
        queue: asyncio.Queue[Entry | None] = asyncio.Queue()  # bounded by publish()
        watcher = (queue, chain)
        self._watchers.add(watcher)
        try:
            while (entry := await queue.get()) is not None:
                yield to_entry(entry)
            await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, "watcher too slow; reconnect")
        finally:
            self._watchers.discard(watcher)

    async def GetChainProgress(
        self, request: ledger_pb2.GetChainProgressRequest, context: Context
    ) -> ledger_pb2.ChainProgress:
        principal = await authenticate(self.tokens, context)
        if not request.chain_id:
            await abort_invalid(context, "chain_id is required", [("chain_id", "required")])
        chain = await self._chain_for(principal, request.chain_id, context)
        return chain_progress(
            chain,
            self.store.current_of_chain(chain),
            self.store.chain_entries(chain),
            self.chains.get(chain),
        )

    async def VerifyHistory(
        self, request: ledger_pb2.VerifyHistoryRequest, context: Context
    ) -> ledger_pb2.VerifyHistoryResponse:
        principal = await authenticate(self.tokens, context)
        await self._may_read_supplier(principal, request.supplier_id, context)
        result = self.store.verify(request.supplier_id)
        return ledger_pb2.VerifyHistoryResponse(
            supplier_id=request.supplier_id,
            intact=result.intact,
            entries=result.entries,
            head_hash=result.head_hash,
            first_broken_sequence=result.first_broken_sequence,
            detail=result.detail,
        )


class LedgerServer(GrpcService):
    """The ledger: consumer + store + gRPC server; ``async with`` runs it. It serves what is
    stored while Kafka is unreachable."""

    def __init__(self, settings: Settings, listen: str | None = None) -> None:
        self.store = LedgerStore(settings.ledger_db)
        self.servicer = LedgerServicer(self.store, load_store(settings.tokens_file))
        self.consumer = RatingsConsumer(settings, self.store, self.servicer.publish)
        self.chains = CompactedTopicReader(
            settings, settings.topic(topics.CHAINS), self.servicer.on_chain
        )
        super().__init__(
            settings,
            listen or settings.ledger_listen,
            SERVICE_NAME,
            lambda server: ledger_pb2_grpc.add_LedgerServiceServicer_to_server(
                self.servicer, server
            ),
        )

    async def start_backend(self) -> None:
        await self.consumer.start()
        await self.chains.start()

    async def stop_backend(self) -> None:
        await self.chains.stop()
        await self.consumer.stop()
        self.store.close()
