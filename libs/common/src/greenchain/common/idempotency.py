"""Idempotency by declaration id, the part clients and ingest share.

``Declaration.declaration_id`` is the idempotency key (declaration.proto): a client that does
not know whether ingest stored a declaration (its stream broke before the answer came) sends it
again with the same id, and ingest stores it at most once (``greenchain.ingest.dedup``).
"""

from __future__ import annotations

from typing import Final

from greenchain.v1 import declaration_pb2

RESEND_METADATA: Final = ("greenchain-resend", "1")
"""gRPC metadata a client sends on a call that repeats declarations whose outcome it does not
know: ingest then reads the declarations topic to its end before deciding what is new, so a copy
that another ingest process stored a moment ago is recognised."""


def idempotency_key(declaration: declaration_pb2.Declaration) -> str:
    """What makes two declarations the same: supplier, id and whether it is a verification
    record (which carries the id of the declaration it verifies). Scoped by supplier so that
    no supplier's id can shadow another's."""
    kind = "v" if declaration.WhichOneof("body") == "verification" else "d"
    return f"{declaration.supplier_id}\x1f{kind}\x1f{declaration.declaration_id}"
