"""Verification records: how a declaration comes to count as third-party verified.

A supplier's own ``assurance.level = THIRD_PARTY_VERIFIED`` is a claim and stays one: scoring
counts a declaration as verified only when a Verification record for its id is on the
declarations topic. Only ingest writes that topic, and it writes a Verification only from
VerifyDeclaration called by a verifier principal (``verifier:<id>`` in the tokens file; admin
too), stamping the principal into ``recorded_by``. SubmitDeclaration refuses a Verification body.

The record is a Declaration envelope (supplier, site and month of the verified declaration, so it
lands on the supplier's partition, in order with its declarations, and is pruned with its month)
whose body is the Verification. Ingest does not know whether the declaration exists (it keeps no
declarations): scoring holds the record either way, and it counts once the declaration is there.
"""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.common.auth import Principal
from greenchain.v1 import declaration_pb2, ingest_pb2

SOURCE = "greenchain-ingest:VerifyDeclaration"


def may_verify(principal: Principal) -> bool:
    """Verifier principals record verifications; admin may too (operations, auth-off dev)."""
    return principal.kind in ("verifier", "admin")


def verification_record(
    request: ingest_pb2.VerifyDeclarationRequest, principal: Principal, now: datetime
) -> declaration_pb2.Declaration:
    """The declarations-topic record of a (valid) VerifyDeclaration request."""
    submitted = Timestamp()
    submitted.FromDatetime(now)
    return declaration_pb2.Declaration(
        declaration_id=request.declaration_id,
        supplier_id=request.supplier_id,
        site_id=request.site_id,
        period=request.period,
        submitted_at=submitted,
        source=SOURCE,
        verification=declaration_pb2.Verification(
            verifier=request.verifier,
            statement_id=request.statement_id,
            recorded_by=str(principal),
        ),
    )
