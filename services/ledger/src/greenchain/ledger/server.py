"""The LedgerService: ratings, history, live updates and chain progress, with access control;
and the Merkle log's signed checkpoints and proofs, so that clients need not trust it.

Access (DESIGN.md section 8): ``admin`` sees everything; ``chain:<id>`` sees the suppliers of
its chain; ``supplier:<id>`` sees itself only. Checkpoints and consistency proofs (hashes only)
are for every authenticated caller; an inclusion proof comes with its entry, so it needs the
right to read that entry's supplier.

Every answer that carries entries or ratings carries the signed checkpoint it was answered at
(read after the entries; checkpoints are signed in the transaction that appends, so it covers
them).

**Exposure** (issue 19, item 6). A rating shown to a ``chain:<id>`` principal carries only that
chain's membership: other chain ids are cleared from ``chain_ids`` and other chains'
``purchases`` are dropped, in every answer that carries ratings (GetRating, ListRatings,
GetRatingHistory, WatchRatings, GetInclusionProof). The Merkle leaf and the supplier-chain
hashes are over the original rating bytes, so a redacted rating would not match them; and
handing them over would leak the rivals anyway (the leaf holds the full rating; and with the
rest of the rating known, a chain could confirm a guessed rival chain id against
``entry_hash`` = SHA-256(previous_hash || rating)). So for chain principals an entry carries the
redacted rating and no ``leaf``, ``entry_hash`` or ``previous_hash``. Suppliers (their own
data) and admins get entries untouched, so ``greenchain verify`` works for them as before; a
chain checks checkpoints and consistency (hashes only) itself and relies on a supplier or an
admin (an auditor) for the inclusion of a given rating. Limits: an inclusion proof of one
entry holds its neighbours' leaf hashes, so a chain reading two adjacent entries could test a
guess about one against the other's proof; that needs the whole LogEntry guessed (scores,
timestamps, purchase values), which this does not defend against formally. History shown to a
chain is limited to the supplier's membership periods in it (greenchain.ledger.store: the log
index ranges in which the supplier's ratings listed the chain): GetRatingHistory and the chain's
progress trend leave out entries from before it joined or while it had left, and an inclusion
proof of such an entry is PERMISSION_DENIED.

**Caught up, and the lag in every answer** (issue #19). Until the consumer has read to the end
offsets taken at start (greenchain.ledger.consumer), every RPC answers UNAVAILABLE and health
says NOT_SERVING: a restarted ledger never serves a partial copy. Every answer to an
authenticated caller carries initial metadata ``greenchain-ledger-lag-records``: ratings not yet
in the log (measured every second; ``unknown`` before the first measurement).

**Off the event loop** (issue #18). Every store call runs on a pool of reader threads, each with
its own SQLite connection, while the consumer appends on another thread: queries and health
checks answer while a batch is being appended.

WatchRatings follows the log from the store, not from a queue: a watcher may resume at
any log index, and one that falls more than ``ledger_watch_max_lag`` entries behind the entries
that arrived while it was connected is cut off with RESOURCE_EXHAUSTED and the index to resume
from (trailing metadata ``greenchain-resume-index``): it loses nothing.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2

from greenchain.common import topics
from greenchain.common.auth import Principal, TokenStore, authenticate, load_store
from greenchain.common.config import Settings
from greenchain.common.grpc_server import (
    Context,
    Violation,
    abort,
    abort_invalid,
    set_serving,
)
from greenchain.common.kafka import CompactedTopicReader
from greenchain.common.service import GrpcService
from greenchain.common.signed_note import Checkpoint, Signer
from greenchain.ledger.consumer import RatingsConsumer
from greenchain.ledger.progress import chain_progress
from greenchain.ledger.store import Entry, LedgerStore, ListFilter
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2, supplier_pb2

log = logging.getLogger(__name__)

SERVICE_NAME = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name
DEFAULT_PAGE, MAX_PAGE = 50, 1000
ORDERS = {
    ledger_pb2.RATING_ORDER_UNSPECIFIED: "score_desc",
    ledger_pb2.RATING_ORDER_SCORE_DESC: "score_desc",
    ledger_pb2.RATING_ORDER_SCORE_ASC: "score_asc",
    ledger_pb2.RATING_ORDER_SUPPLIER_ID: "supplier_id",
}
WATCH_PAGE = 500
ID_PATTERN = re.compile(r"\A[A-Za-z0-9._:\-]{1,64}\Z")
"""A supplier or chain id, as ingest accepts them; the whole string (``$`` would let "A\\n" by)."""
ID_RULE = "1..64 characters of A-Z a-z 0-9 . _ : - (the whole string)"
MAX_PAGE_TOKEN = 512
"""Longest page token accepted (ours are under 200 characters); checked before decoding, so a
huge or deeply nested token is INVALID_ARGUMENT, never a RecursionError."""
MAX_FILTER_VALUES = 64
"""Most values in one repeated filter (``grades``, ``tiers``): there are fewer than ten of
each; the bound keeps a query far below SQLite's 32,766 parameters."""
RESUME_KEY = "greenchain-resume-index"
LAG_KEY = "greenchain-ledger-lag-records"
"""Initial metadata of every answer: ratings not yet in this ledger's log."""
READER_THREADS = 4
"""Threads running store reads (each with its own SQLite connection)."""
LIVENESS = "liveness"
"""Health service name that is SERVING while the process works, catching up included (for
liveness probes; the server's own name and "" say whether it is caught up and healthy)."""

P = ParamSpec("P")
T = TypeVar("T")


@functools.lru_cache(maxsize=16)
def _checkpoint_fields(note: str) -> tuple[str, int, bytes]:
    """(origin, size, root hash) of a signed note; cached: every answer carries the latest
    checkpoint, which changes once per appended batch."""
    parsed = Checkpoint.parse_unverified(note)
    return parsed.origin, parsed.size, parsed.root_hash


def to_checkpoint(note: str) -> ledger_pb2.Checkpoint:
    origin, size, root_hash = _checkpoint_fields(note)
    return ledger_pb2.Checkpoint(note=note, origin=origin, size=size, root_hash=root_hash)


def redact(
    rating: rating_pb2.SupplierRating, principal: Principal | None
) -> rating_pb2.SupplierRating:
    """The rating as ``principal`` may see it: a chain sees only its own membership and
    purchases (a copy); anyone else the rating itself."""
    if principal is None or principal.kind != "chain":
        return rating
    shown = rating_pb2.SupplierRating()
    shown.CopyFrom(rating)
    del shown.chain_ids[:]
    shown.chain_ids.extend(c for c in rating.chain_ids if c == principal.id)
    del shown.purchases[:]
    shown.purchases.extend(p for p in rating.purchases if p.chain_id == principal.id)
    return shown


def to_entry(
    entry: Entry,
    checkpoint: ledger_pb2.Checkpoint | None = None,
    principal: Principal | None = None,
) -> ledger_pb2.LedgerEntry:
    """The entry as ``principal`` may see it (None = in full): for a chain, the redacted rating
    and no leaf or hashes over the full rating bytes (module docstring, Exposure)."""
    recorded = Timestamp()
    recorded.FromNanoseconds(int(entry.recorded_at * 1e9))
    full = principal is None or principal.kind != "chain"
    return ledger_pb2.LedgerEntry(
        supplier_id=entry.supplier_id,
        sequence=entry.sequence,
        rating=redact(entry.rating, principal),
        previous_hash=entry.previous_hash if full else b"",
        entry_hash=entry.entry_hash if full else b"",
        recorded_at=recorded,
        index=entry.index,
        leaf=entry.leaf if full else b"",
        checkpoint=checkpoint,
    )


def load_signer(settings: Settings) -> Signer:
    """The checkpoint signing key from ``GREENCHAIN_LEDGER_KEY_FILE`` (a file, or a Kubernetes
    Secret mounted as one); without it a key for this process only, with a warning."""
    if settings.ledger_key_file:
        with open(settings.ledger_key_file, encoding="utf-8") as key_file:
            return Signer.parse(key_file.read())
    log.warning(
        "GREENCHAIN_LEDGER_KEY_FILE is not set: checkpoints are signed with an ephemeral key "
        "that no client can verify after a restart (local development only; see greenchain "
        "keygen)"
    )
    return Signer.generate("ephemeral")


def _filter_key(request: ledger_pb2.ListRatingsRequest) -> str:
    """What a page token is bound to: the same query with another page."""
    copy = ledger_pb2.ListRatingsRequest()
    copy.CopyFrom(request)
    copy.ClearField("page_token")
    copy.ClearField("page_size")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()[:16]


def encode_token(
    request: ledger_pb2.ListRatingsRequest, score: float, supplier_id: str, key: str = ""
) -> str:
    """The token of the page after (score, supplier_id); ``key``: the request's
    :func:`_filter_key` if already computed."""
    data = {"q": key or _filter_key(request), "s": score, "id": supplier_id}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def decode_token(request: ledger_pb2.ListRatingsRequest, key: str = "") -> tuple[float, str] | None:
    """The (score, supplier id) the request's page token resumes after (None: the first page);
    ValueError if it is not a token of this query. ``key`` as in :func:`encode_token`."""
    if not request.page_token:
        return None
    if len(request.page_token) > MAX_PAGE_TOKEN:
        raise ValueError(f"bad page_token: longer than {MAX_PAGE_TOKEN} characters")
    try:
        data = json.loads(base64.urlsafe_b64decode(request.page_token.encode()))
        if not isinstance(data, dict):
            raise TypeError("not an object")
        if data["q"] != (key or _filter_key(request)):
            raise ValueError("the token belongs to another query")
        return float(data["s"]), str(data["id"])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ValueError(f"bad page_token: {type(exc).__name__}") from None


def id_violations(field: str, value: str, required: bool = True) -> list[Violation]:
    """A violation if ``value`` is not a whole supplier or chain id (empty: only if required)."""
    if not value and not required:
        return []
    return [] if ID_PATTERN.match(value) else [(field, ID_RULE)]


def list_violations(request: ledger_pb2.ListRatingsRequest, key: str = "") -> list[Violation]:
    """Every problem of a ListRatings request ([] = valid), before any query. ``key`` as in
    :func:`encode_token`."""
    out = id_violations("chain_id", request.chain_id, required=False)
    if request.page_size < 0 or request.page_size > MAX_PAGE:
        out.append(("page_size", f"must be 0..{MAX_PAGE} (0 = {DEFAULT_PAGE})"))
    for name in ("grades", "tiers"):
        if len(getattr(request, name)) > MAX_FILTER_VALUES:
            out.append((name, f"at most {MAX_FILTER_VALUES} values"))
    if not out:  # the token is bound to the filters: decode it only for a sane request
        try:
            decode_token(request, key)
        except ValueError as exc:
            out.append(("page_token", str(exc)))
    return out


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    """The RPCs. ``ready`` (False: every RPC answers UNAVAILABLE) and ``lag`` (records not yet
    in the log, None = unknown) are the server's to set."""

    def __init__(
        self,
        store: LedgerStore,
        tokens: TokenStore | None,
        watch_max_lag: int = 10000,
        lag: Callable[[], int | None] = lambda: 0,
        ready: bool = True,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.chains: dict[str, supplier_pb2.Chain] = {}  # chain leaders (greenchain.chains.v1)
        self.watch_max_lag = watch_max_lag
        self.lag = lag
        self.ready = ready
        self._pool = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="ledger-read")
        self._head = store.size()
        self._appended = asyncio.Event()
        self.cut_offs = 0  # watchers cut off for falling behind (each resumes losslessly)

    async def _db(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``call`` (a store read) on a reader thread: the event loop never waits for SQLite."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def _enter(self, context: Context) -> Principal:
        """Every RPC's start: the caller, the lag in the initial metadata, and UNAVAILABLE while
        the ledger has not caught up."""
        principal = await authenticate(self.tokens, context)
        lag = self.lag()
        await context.send_initial_metadata(((LAG_KEY, "unknown" if lag is None else str(lag)),))
        if not self.ready:
            await abort(
                context,
                grpc.StatusCode.UNAVAILABLE,
                f"the ledger is catching up ({'unknown' if lag is None else lag} records "
                "behind); retry later",
            )
        return principal

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
        """Called by the consumer after each committed batch: wakes the watchers."""
        self._head = max(self._head, entries[-1].index + 1)
        woken, self._appended = self._appended, asyncio.Event()
        woken.set()

    async def _checkpoint(self) -> ledger_pb2.Checkpoint:
        return to_checkpoint((await self._db(self.store.checkpoint))[1])

    # access -------------------------------------------------------------------------------

    async def _may_read_supplier(
        self, principal: Principal, supplier_id: str, context: Context, index: int | None = None
    ) -> None:
        """Aborts unless ``principal`` may read the supplier (a chain: a member now; with
        ``index``, also when that entry was appended)."""
        if principal.is_admin:
            return
        if principal.kind == "supplier" and principal.id == supplier_id:
            return
        if (
            principal.kind == "chain"
            and await self._db(self.store.in_chain, principal.id, supplier_id)
            and (
                index is None
                or await self._db(self.store.in_chain, principal.id, supplier_id, index)
            )
        ):
            return
        await abort(
            context, grpc.StatusCode.PERMISSION_DENIED, f"{principal} may not read {supplier_id!r}"
        )

    async def _valid_id(
        self, field: str, value: str, context: Context, required: bool = True
    ) -> None:
        if violations := id_violations(field, value, required):
            await abort_invalid(context, f"invalid {field}", violations)

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
        principal = await self._enter(context)
        await self._valid_id("supplier_id", request.supplier_id, context)
        await self._may_read_supplier(principal, request.supplier_id, context)
        entry = await self._db(self.store.current, request.supplier_id)
        if entry is None:
            await abort(
                context, grpc.StatusCode.NOT_FOUND, f"no rating for {request.supplier_id!r} yet"
            )
        return to_entry(entry, await self._checkpoint(), principal)

    async def ListRatings(
        self, request: ledger_pb2.ListRatingsRequest, context: Context
    ) -> ledger_pb2.ListRatingsResponse:
        principal = await self._enter(context)
        key = _filter_key(request)  # the token's binding, computed once per call
        violations = list_violations(request, key)
        if violations:
            await abort_invalid(context, "invalid request", violations)
        chain = await self._chain_for(principal, request.chain_id, context)
        after = decode_token(request, key)
        limit = request.page_size or DEFAULT_PAGE
        order = ORDERS.get(request.order, "score_desc")
        # one store call on one reader thread: the page comes encoded, with its count and
        # the checkpoint of the same snapshot (greenchain.ledger.store.LedgerStore.page)
        page = await self._db(
            self.store.page,
            ListFilter(
                chain,
                request.sector_code,
                tuple(request.grades),
                tuple(request.tiers),
                request.min_score if request.HasField("min_score") else None,
                request.max_score if request.HasField("max_score") else None,
                order,
            ),
            after,
            limit,
        )
        # the stored rating bytes parse into the response in C (no rating is decoded in Python)
        response = ledger_pb2.ListRatingsResponse.FromString(page.ratings)
        if principal.kind == "chain":
            shown = [redact(r, principal) for r in response.ratings]
            del response.ratings[:]
            response.ratings.extend(shown)
        response.total_size = page.total
        if page.checkpoint is not None:  # None: an empty log of a store that signs nothing
            response.checkpoint.CopyFrom(to_checkpoint(page.checkpoint))
        if page.more and page.last is not None:
            response.next_page_token = encode_token(request, *page.last, key=key)
        return response

    async def GetRatingHistory(
        self, request: ledger_pb2.GetRatingHistoryRequest, context: Context
    ) -> ledger_pb2.GetRatingHistoryResponse:
        principal = await self._enter(context)
        await self._valid_id("supplier_id", request.supplier_id, context)
        await self._may_read_supplier(principal, request.supplier_id, context)
        since = request.since.ToNanoseconds() / 1e9 if request.HasField("since") else None
        until = request.until.ToNanoseconds() / 1e9 if request.HasField("until") else None
        # a chain sees the supplier's entries from its membership periods only
        member_of = principal.id if principal.kind == "chain" else ""
        entries = await self._db(self.store.history, request.supplier_id, since, until, member_of)
        return ledger_pb2.GetRatingHistoryResponse(
            entries=[to_entry(e, None, principal) for e in entries],
            checkpoint=await self._checkpoint(),
        )

    async def WatchRatings(
        self, request: ledger_pb2.WatchRatingsRequest, context: Context
    ) -> AsyncIterator[ledger_pb2.LedgerEntry]:
        principal = await self._enter(context)
        await self._valid_id("chain_id", request.chain_id, context, required=False)
        chain = await self._chain_for(principal, request.chain_id, context)
        if request.HasField("from_index") and request.from_index < 0:
            await abort_invalid(context, "from_index must be >= 0", [("from_index", ">= 0")])
        connected_head = self._head
        next_index = request.from_index if request.HasField("from_index") else connected_head
        while True:
            appended = self._appended  # taken before reading: no wake-up can be missed
            entries = await self._db(self.store.entries_from, next_index, WATCH_PAGE)
            if not entries:
                await appended.wait()
                continue
            checkpoint = await self._checkpoint()
            for entry in entries:
                # entries that arrived while connected and are still unsent: the backlog the
                # caller asked for (from_index) is its own to read at its pace
                lag = self._head - max(entry.index, connected_head)
                if lag > self.watch_max_lag:
                    self.cut_offs += 1
                    log.info("watcher of %r cut off %d entries behind", chain, lag)
                    context.set_trailing_metadata(((RESUME_KEY, str(entry.index)),))
                    await abort(
                        context,
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"watcher too slow ({lag} entries behind); resume with "
                        f"from_index={entry.index}",
                    )
                next_index = entry.index + 1
                if chain and chain not in entry.rating.chain_ids:
                    continue
                yield to_entry(entry, checkpoint, principal)

    async def GetChainProgress(
        self, request: ledger_pb2.GetChainProgressRequest, context: Context
    ) -> ledger_pb2.ChainProgress:
        principal = await self._enter(context)
        await self._valid_id("chain_id", request.chain_id, context)
        chain = await self._chain_for(principal, request.chain_id, context)
        leader = self.chains.get(chain)
        return await self._db(
            lambda: chain_progress(
                chain, self.store.current_of_chain(chain), self.store.chain_entries(chain), leader
            )
        )

    async def VerifyHistory(
        self, request: ledger_pb2.VerifyHistoryRequest, context: Context
    ) -> ledger_pb2.VerifyHistoryResponse:
        principal = await self._enter(context)
        await self._valid_id("supplier_id", request.supplier_id, context)
        await self._may_read_supplier(principal, request.supplier_id, context)
        result = await self._db(self.store.verify, request.supplier_id)
        return ledger_pb2.VerifyHistoryResponse(
            supplier_id=request.supplier_id,
            intact=result.intact,
            entries=result.entries,
            head_hash=result.head_hash,
            first_broken_sequence=result.first_broken_sequence,
            detail=result.detail,
        )

    # the Merkle log ----------------------------------------------------------------------

    async def GetCheckpoint(
        self, request: ledger_pb2.GetCheckpointRequest, context: Context
    ) -> ledger_pb2.Checkpoint:
        await self._enter(context)
        return await self._checkpoint()

    async def _tree_size(self, requested: int, context: Context) -> tuple[int, str]:
        """The tree size a proof is asked for (0 = the latest checkpoint's) and that note."""
        size, note = await self._db(self.store.checkpoint)
        if requested < 0 or requested > size:
            await abort_invalid(
                context,
                f"tree size must be 0..{size} (the latest checkpoint)",
                [("tree_size", f"0..{size}")],
            )
        return requested or size, note

    async def GetInclusionProof(
        self, request: ledger_pb2.GetInclusionProofRequest, context: Context
    ) -> ledger_pb2.InclusionProof:
        principal = await self._enter(context)
        kind = request.WhichOneof("entry")
        if kind == "index":
            entry = await self._db(self.store.entry_at, request.index)
        elif kind == "supplier_entry":
            wanted = request.supplier_entry
            await self._valid_id("supplier_entry.supplier_id", wanted.supplier_id, context)
            entry = await self._db(self.store.entry_of, wanted.supplier_id, wanted.sequence)
        else:
            await abort_invalid(context, "index or supplier_entry is required", [("entry", "")])
        if entry is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, "no such entry")
        await self._may_read_supplier(principal, entry.supplier_id, context, entry.index)
        # read after the entry: the latest checkpoint then covers it
        size, note = await self._tree_size(request.tree_size, context)
        if entry.index >= size:
            await abort_invalid(
                context,
                f"entry {entry.index} is not in the tree of size {size}",
                [("tree_size", f"> {entry.index}")],
            )
        checkpoint = to_checkpoint(note)
        return ledger_pb2.InclusionProof(
            index=entry.index,
            tree_size=size,
            hashes=await self._db(self.store.inclusion_proof, entry.index, size),
            entry=to_entry(entry, checkpoint, principal),
            checkpoint=checkpoint,
        )

    async def GetConsistencyProof(
        self, request: ledger_pb2.GetConsistencyProofRequest, context: Context
    ) -> ledger_pb2.ConsistencyProof:
        await self._enter(context)
        second, note = await self._tree_size(request.second_size, context)
        if not 0 <= request.first_size <= second:
            await abort_invalid(
                context, f"first_size must be 0..{second}", [("first_size", f"0..{second}")]
            )
        return ledger_pb2.ConsistencyProof(
            first_size=request.first_size,
            second_size=second,
            hashes=await self._db(self.store.consistency_proof, request.first_size, second),
            checkpoint=to_checkpoint(note),
        )


class LedgerServer(GrpcService):
    """The ledger: consumer + store + gRPC server; ``async with`` runs it. It serves what is
    stored while Kafka is unreachable, once it has caught up at start (``start`` returns then;
    until then RPCs answer UNAVAILABLE and health NOT_SERVING). If the consumer dies, health
    turns NOT_SERVING, RPCs UNAVAILABLE, and ``failed`` is set: the process exits for its
    supervisor (greenchain.ledger.__main__)."""

    def __init__(self, settings: Settings, listen: str | None = None) -> None:
        self.store = LedgerStore(settings.ledger_db, load_signer(settings), settings.ledger_origin)
        self.servicer = LedgerServicer(
            self.store,
            load_store(settings.tokens_file),
            settings.ledger_watch_max_lag,
            lag=lambda: self.consumer.lag,
            ready=False,
        )
        self.consumer = RatingsConsumer(settings, self.store, self.servicer.publish)
        self.chains = CompactedTopicReader(
            settings, settings.topic(topics.CHAINS), self.servicer.on_chain
        )
        self.failed = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        super().__init__(
            settings,
            listen or settings.ledger_listen,
            SERVICE_NAME,
            lambda server: ledger_pb2_grpc.add_LedgerServiceServicer_to_server(
                self.servicer, server
            ),
        )

    async def start(self) -> None:
        # grpc's health servicer starts with the overall status ("") SERVING: say the truth
        # before the server answers anything. "liveness" is SERVING while the process works,
        # catching up included (Kubernetes' liveness and startup probes ask it)
        await set_serving(self.health, [self.service_name], False)
        await self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await super().start()

    async def start_backend(self) -> None:
        await self.consumer.start()
        await self.chains.start()
        self.supervise(self.chains.task)  # chains' memberships decide who may read what
        caught_up = asyncio.create_task(self.consumer.caught_up.wait())
        either: set[asyncio.Future[Any]] = {caught_up, self.consumer.failure}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not caught_up.done():
            caught_up.cancel()
            raise RuntimeError("the ledger consumer died while catching up") from (
                self.consumer.failure.result()
            )
        self.servicer.ready = True
        self._watch = asyncio.create_task(self._watch_consumer(), name="ledger health")

    async def _watch_consumer(self) -> None:
        error = await self.consumer.failure
        log.error("the ledger consumer died (%r): NOT_SERVING, exiting", error)
        self.servicer.ready = False
        await set_serving(self.health, [self.service_name, LIVENESS], False)
        self.failed.set()

    async def stop_backend(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self.chains.stop()
        await self.consumer.stop()
        self.servicer.close()
        self.store.close()
