from greenchain.v1 import declaration_pb2 as _declaration_pb2
from greenchain.v1 import supplier_pb2 as _supplier_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DesignationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIGNATION_KIND_UNSPECIFIED: _ClassVar[DesignationKind]
    DESIGNATION_KIND_GREEN_FACTORY: _ClassVar[DesignationKind]
    DESIGNATION_KIND_ZERO_CARBON_FACTORY: _ClassVar[DesignationKind]

class RowOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROW_OUTCOME_UNSPECIFIED: _ClassVar[RowOutcome]
    ROW_OUTCOME_APPLIED: _ClassVar[RowOutcome]
    ROW_OUTCOME_UNCHANGED: _ClassVar[RowOutcome]
    ROW_OUTCOME_INVALID: _ClassVar[RowOutcome]
    ROW_OUTCOME_UNMATCHED: _ClassVar[RowOutcome]
    ROW_OUTCOME_AMBIGUOUS: _ClassVar[RowOutcome]
    ROW_OUTCOME_DUPLICATE: _ClassVar[RowOutcome]
    ROW_OUTCOME_CONFLICT: _ClassVar[RowOutcome]
DESIGNATION_KIND_UNSPECIFIED: DesignationKind
DESIGNATION_KIND_GREEN_FACTORY: DesignationKind
DESIGNATION_KIND_ZERO_CARBON_FACTORY: DesignationKind
ROW_OUTCOME_UNSPECIFIED: RowOutcome
ROW_OUTCOME_APPLIED: RowOutcome
ROW_OUTCOME_UNCHANGED: RowOutcome
ROW_OUTCOME_INVALID: RowOutcome
ROW_OUTCOME_UNMATCHED: RowOutcome
ROW_OUTCOME_AMBIGUOUS: RowOutcome
ROW_OUTCOME_DUPLICATE: RowOutcome
ROW_OUTCOME_CONFLICT: RowOutcome

class VerifyDeclarationRequest(_message.Message):
    __slots__ = ("declaration_id", "supplier_id", "site_id", "period", "verifier", "statement_id")
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    supplier_id: str
    site_id: str
    period: _declaration_pb2.Period
    verifier: str
    statement_id: str
    def __init__(self, declaration_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., site_id: _Optional[str] = ..., period: _Optional[_Union[_declaration_pb2.Period, _Mapping]] = ..., verifier: _Optional[str] = ..., statement_id: _Optional[str] = ...) -> None: ...

class DesignationRow(_message.Message):
    __slots__ = ("row", "name", "credit_code", "province", "level", "year", "list_reference", "site_id", "kind", "status")
    ROW_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    LIST_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    row: int
    name: str
    credit_code: str
    province: str
    level: str
    year: int
    list_reference: str
    site_id: str
    kind: DesignationKind
    status: str
    def __init__(self, row: _Optional[int] = ..., name: _Optional[str] = ..., credit_code: _Optional[str] = ..., province: _Optional[str] = ..., level: _Optional[str] = ..., year: _Optional[int] = ..., list_reference: _Optional[str] = ..., site_id: _Optional[str] = ..., kind: _Optional[_Union[DesignationKind, str]] = ..., status: _Optional[str] = ...) -> None: ...

class ImportDesignationsRequest(_message.Message):
    __slots__ = ("rows", "dry_run")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[DesignationRow]
    dry_run: bool
    def __init__(self, rows: _Optional[_Iterable[_Union[DesignationRow, _Mapping]]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class DesignationRowResult(_message.Message):
    __slots__ = ("row", "outcome", "supplier_id", "site_id", "violations", "detail")
    ROW_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    row: int
    outcome: RowOutcome
    supplier_id: str
    site_id: str
    violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    detail: str
    def __init__(self, row: _Optional[int] = ..., outcome: _Optional[_Union[RowOutcome, str]] = ..., supplier_id: _Optional[str] = ..., site_id: _Optional[str] = ..., violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ..., detail: _Optional[str] = ...) -> None: ...

class ImportDesignationsResponse(_message.Message):
    __slots__ = ("results", "applied", "suppliers_updated", "dry_run")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_UPDATED_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DesignationRowResult]
    applied: int
    suppliers_updated: int
    dry_run: bool
    def __init__(self, results: _Optional[_Iterable[_Union[DesignationRowResult, _Mapping]]] = ..., applied: _Optional[int] = ..., suppliers_updated: _Optional[int] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Accepted(_message.Message):
    __slots__ = ("topic", "partition", "offset", "index", "duplicate")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    topic: str
    partition: int
    offset: int
    index: int
    duplicate: bool
    def __init__(self, topic: _Optional[str] = ..., partition: _Optional[int] = ..., offset: _Optional[int] = ..., index: _Optional[int] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class Rejected(_message.Message):
    __slots__ = ("code", "message", "violations")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class SubmitResult(_message.Message):
    __slots__ = ("declaration_id", "sequence", "accepted", "rejected")
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    sequence: int
    accepted: Accepted
    rejected: Rejected
    def __init__(self, declaration_id: _Optional[str] = ..., sequence: _Optional[int] = ..., accepted: _Optional[_Union[Accepted, _Mapping]] = ..., rejected: _Optional[_Union[Rejected, _Mapping]] = ...) -> None: ...

class UpsertSupplierResponse(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: Accepted
    def __init__(self, accepted: _Optional[_Union[Accepted, _Mapping]] = ...) -> None: ...
