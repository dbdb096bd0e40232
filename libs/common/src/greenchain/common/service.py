"""The lifecycle both gRPC services share: serve at once (health NOT_SERVING), make sure the
topics exist, start the Kafka-backed parts, then report SERVING; the reverse on stop. An
essential task that dies turns health NOT_SERVING and sets :attr:`GrpcService.failed`, on which
the runner stops the process with a non-zero exit code."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Self

import grpc

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.grpc_server import add_health_and_reflection, bind, make_server, set_serving
from greenchain.common.kafka import start_with_retry
from greenchain.common.supervision import supervise

log = logging.getLogger(__name__)


class GrpcService:
    """A grpc.aio server (limits, TLS, tracing, health, reflection) around Kafka-backed parts.

    Subclasses pass a ``register`` callback that adds their servicer (and gRPC ``options`` of
    their own, if any), and override
    ``start_backend`` / ``stop_backend``. ``async with`` runs the service.
    """

    def __init__(
        self,
        settings: Settings,
        listen: str,
        service_name: str,
        register: Callable[[grpc.aio.Server], None],
        options: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.settings = settings
        self.service_name = service_name
        self.server = make_server(settings, options)
        register(self.server)
        self.health = add_health_and_reflection(self.server, [service_name])
        self.port = bind(self.server, listen, settings)
        self.failed = asyncio.Event()  # an essential task died: stop, exit non-zero
        self.failure: str | None = None
        self._health_updates: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.server.start()  # health answers NOT_SERVING until the backend is up
        await start_with_retry(
            lambda: asyncio.to_thread(topics.ensure_topics, self.settings),
            f"{self.service_name} topics",
        )
        await self.start_backend()
        if self.failure is None:
            await set_serving(self.health, [self.service_name], True)

    async def stop(self, grace: float = 5.0) -> None:
        await set_serving(self.health, [self.service_name], False)
        await self.server.stop(grace)
        await self.stop_backend()

    def supervise(self, task: asyncio.Task[object]) -> None:
        """Makes ``task`` essential: if it ends while the service runs, health turns NOT_SERVING
        at once and :attr:`failed` is set (the runner then stops the process, exit code 70)."""
        supervise(task, self.fail)

    def fail(self, reason: str) -> None:
        """The service cannot do its job any more: NOT_SERVING, then :attr:`failed` is set."""
        if self.failure is not None:
            return
        self.failure = reason
        log.critical("%s cannot serve: %s", self.service_name, reason)
        update = asyncio.get_running_loop().create_task(self._report_failure())
        self._health_updates.add(update)  # keep a reference until it ran
        update.add_done_callback(self._health_updates.discard)

    async def _report_failure(self) -> None:
        try:
            await set_serving(self.health, [self.service_name], False)
        finally:
            self.failed.set()

    async def start_backend(self) -> None:
        """Start what the servicer needs (Kafka clients, stores)."""

    async def stop_backend(self) -> None:
        """Stop it again."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
