"""Ingest's per-supplier caps and the verifier's request rules (no server, no Kafka)."""

from __future__ import annotations

from datetime import UTC, datetime

from greenchain.common.auth import Principal
from greenchain.common.config import Settings
from greenchain.ingest.quota import SupplierQuota
from greenchain.ingest.validation import validate_verification
from greenchain.ingest.verification import may_verify, verification_record
from greenchain.testing.builders import envelope, supplier
from greenchain.v1 import ingest_pb2

SETTINGS = Settings(supplier_max_declarations=3, supplier_max_products=1, scoring_keep_months=3)


def test_one_entry_too_many_is_refused_naming_the_limit_and_corrections_pass() -> None:
    quota = SupplierQuota(SETTINGS)
    for month in (1, 2, 3):
        assert quota.admit(envelope("energy", month=month)) is None
    refused = quota.admit(envelope("emissions", month=3))
    assert refused is not None and "GREENCHAIN_SUPPLIER_MAX_DECLARATIONS=3" in refused
    correction = envelope("energy", month=2)
    correction.declaration_id += "-fix"
    assert quota.admit(correction) is None
    assert quota.admit(envelope("energy", supplier_id="sup-002")) is None  # per supplier


def test_months_leaving_the_kept_range_free_their_places() -> None:
    quota = SupplierQuota(SETTINGS)
    for month in (1, 2, 3):
        assert quota.admit(envelope("energy", month=month)) is None
    assert quota.admit(envelope("energy", month=4)) is None  # January leaves: 3 kept
    assert quota.admit(envelope("emissions", month=1)) is None  # too old: nothing to keep
    assert quota.admit(envelope("emissions", month=4)) is not None


def test_one_product_too_many_is_refused_naming_the_limit() -> None:
    quota = SupplierQuota(SETTINGS)
    assert quota.admit(envelope("product_footprint", month=1)) is None
    other = envelope("product_footprint", month=1)
    other.product_footprint.product_id = "P-999"
    refused = quota.admit(other)
    assert refused is not None and "GREENCHAIN_SUPPLIER_MAX_PRODUCTS=1" in refused
    other.product_footprint.pact_deprecated = True  # a withdrawal adds nothing
    assert quota.admit(other) is None


def test_only_verifiers_and_admin_record_verifications_stamped_with_who() -> None:
    assert may_verify(Principal.parse("verifier:cqc")) and may_verify(Principal.parse("admin"))
    assert not may_verify(Principal.parse("supplier:sup-001"))
    assert not may_verify(Principal.parse("chain:chain-a"))
    decl = envelope("energy")
    request = ingest_pb2.VerifyDeclarationRequest(
        declaration_id=decl.declaration_id,
        supplier_id="sup-001",
        site_id="s1",
        period=decl.period,
        verifier="CQC",
        statement_id="VS-1",
    )
    now = datetime(2024, 6, 1, tzinfo=UTC)
    registry = {"sup-001": supplier("sup-001")}
    assert validate_verification(request, registry, now) == []
    record = verification_record(request, Principal.parse("verifier:cqc"), now)
    assert record.WhichOneof("body") == "verification"
    assert record.verification.recorded_by == "verifier:cqc"
    assert (record.declaration_id, record.site_id) == (decl.declaration_id, "s1")
    request.site_id, request.verifier, request.statement_id = "s9", "", "x" * 129
    assert {f for f, _ in validate_verification(request, registry, now)} == {
        "site_id",
        "verifier",
        "statement_id",
    }
