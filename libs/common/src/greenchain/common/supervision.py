"""Essential tasks: background tasks a service cannot work without (topic readers, consumers).

Such a task is meant to run until the service stops. If it ends any other way (an exception, or
returning) the service must not go on answering as if it were healthy: :func:`supervise` calls
the service's ``on_failure`` once, which for a gRPC service turns health NOT_SERVING and ends the
process with :data:`EXIT_SOFTWARE` for its supervisor (Kubernetes, systemd, compose) to restart
it (see :class:`greenchain.common.service.GrpcService`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from greenchain.common.metrics import TASK_FAILURES

log = logging.getLogger(__name__)

EXIT_SOFTWARE = 70
"""sysexits.h EX_SOFTWARE: the process could not do its job; its supervisor restarts it."""


class EssentialTaskFailed(RuntimeError):
    """An essential task ended while the service was running."""


def failure_of(task: asyncio.Task[object]) -> str | None:
    """Why ``task`` ended unexpectedly, or None when it was cancelled (the service stopping)."""
    if task.cancelled():
        return None
    error = task.exception()
    if error is None:
        return f"{task.get_name()} ended"
    return f"{task.get_name()} failed: {type(error).__name__}: {error}"


def supervise(task: asyncio.Task[object], on_failure: Callable[[str], None]) -> None:
    """Calls ``on_failure(reason)`` when ``task`` ends other than by cancellation; logs the
    failure with its traceback and counts it in ``greenchain_essential_task_failures_total``."""

    def ended(done: asyncio.Task[object]) -> None:
        reason = failure_of(done)
        if reason is None:
            return
        TASK_FAILURES.labels(done.get_name()).inc()
        error = None if done.cancelled() else done.exception()
        log.critical("essential task %s", reason, exc_info=error)
        on_failure(reason)

    task.add_done_callback(ended)
