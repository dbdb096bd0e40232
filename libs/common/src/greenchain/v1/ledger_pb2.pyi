import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from greenchain.v1 import declaration_pb2 as _declaration_pb2
from greenchain.v1 import rating_pb2 as _rating_pb2
from greenchain.v1 import supplier_pb2 as _supplier_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RatingOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATING_ORDER_UNSPECIFIED: _ClassVar[RatingOrder]
    RATING_ORDER_SCORE_DESC: _ClassVar[RatingOrder]
    RATING_ORDER_SCORE_ASC: _ClassVar[RatingOrder]
    RATING_ORDER_SUPPLIER_ID: _ClassVar[RatingOrder]
RATING_ORDER_UNSPECIFIED: RatingOrder
RATING_ORDER_SCORE_DESC: RatingOrder
RATING_ORDER_SCORE_ASC: RatingOrder
RATING_ORDER_SUPPLIER_ID: RatingOrder

class LedgerEntry(_message.Message):
    __slots__ = ("supplier_id", "sequence", "rating", "previous_hash", "entry_hash", "recorded_at", "index", "leaf", "checkpoint")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_HASH_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    sequence: int
    rating: _rating_pb2.SupplierRating
    previous_hash: bytes
    entry_hash: bytes
    recorded_at: _timestamp_pb2.Timestamp
    index: int
    leaf: bytes
    checkpoint: Checkpoint
    def __init__(self, supplier_id: _Optional[str] = ..., sequence: _Optional[int] = ..., rating: _Optional[_Union[_rating_pb2.SupplierRating, _Mapping]] = ..., previous_hash: _Optional[bytes] = ..., entry_hash: _Optional[bytes] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., index: _Optional[int] = ..., leaf: _Optional[bytes] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class GetRatingRequest(_message.Message):
    __slots__ = ("supplier_id",)
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    def __init__(self, supplier_id: _Optional[str] = ...) -> None: ...

class ListRatingsRequest(_message.Message):
    __slots__ = ("chain_id", "sector_code", "grades", "tiers", "min_score", "max_score", "order", "page_size", "page_token")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    GRADES_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    sector_code: str
    grades: _containers.RepeatedScalarFieldContainer[_rating_pb2.Grade]
    tiers: _containers.RepeatedScalarFieldContainer[_rating_pb2.ReadinessTier]
    min_score: float
    max_score: float
    order: RatingOrder
    page_size: int
    page_token: str
    def __init__(self, chain_id: _Optional[str] = ..., sector_code: _Optional[str] = ..., grades: _Optional[_Iterable[_Union[_rating_pb2.Grade, str]]] = ..., tiers: _Optional[_Iterable[_Union[_rating_pb2.ReadinessTier, str]]] = ..., min_score: _Optional[float] = ..., max_score: _Optional[float] = ..., order: _Optional[_Union[RatingOrder, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRatingsResponse(_message.Message):
    __slots__ = ("ratings", "next_page_token", "total_size", "checkpoint")
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    ratings: _containers.RepeatedCompositeFieldContainer[_rating_pb2.SupplierRating]
    next_page_token: str
    total_size: int
    checkpoint: Checkpoint
    def __init__(self, ratings: _Optional[_Iterable[_Union[_rating_pb2.SupplierRating, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class GetRatingHistoryRequest(_message.Message):
    __slots__ = ("supplier_id", "since", "until")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, supplier_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRatingHistoryResponse(_message.Message):
    __slots__ = ("entries", "checkpoint")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    checkpoint: Checkpoint
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class WatchRatingsRequest(_message.Message):
    __slots__ = ("chain_id", "from_index")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    from_index: int
    def __init__(self, chain_id: _Optional[str] = ..., from_index: _Optional[int] = ...) -> None: ...

class GetChainProgressRequest(_message.Message):
    __slots__ = ("chain_id",)
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    def __init__(self, chain_id: _Optional[str] = ...) -> None: ...

class TierShare(_message.Message):
    __slots__ = ("tier", "output_value_cny", "share")
    TIER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    tier: _rating_pb2.ReadinessTier
    output_value_cny: float
    share: float
    def __init__(self, tier: _Optional[_Union[_rating_pb2.ReadinessTier, str]] = ..., output_value_cny: _Optional[float] = ..., share: _Optional[float] = ...) -> None: ...

class GradeCount(_message.Message):
    __slots__ = ("grade", "suppliers")
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    grade: _rating_pb2.Grade
    suppliers: int
    def __init__(self, grade: _Optional[_Union[_rating_pb2.Grade, str]] = ..., suppliers: _Optional[int] = ...) -> None: ...

class TierCount(_message.Message):
    __slots__ = ("tier", "suppliers")
    TIER_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    tier: _rating_pb2.ReadinessTier
    suppliers: int
    def __init__(self, tier: _Optional[_Union[_rating_pb2.ReadinessTier, str]] = ..., suppliers: _Optional[int] = ...) -> None: ...

class MonthlyProgress(_message.Message):
    __slots__ = ("period", "readiness_share", "designated_share")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    READINESS_SHARE_FIELD_NUMBER: _ClassVar[int]
    DESIGNATED_SHARE_FIELD_NUMBER: _ClassVar[int]
    period: _declaration_pb2.Period
    readiness_share: float
    designated_share: float
    def __init__(self, period: _Optional[_Union[_declaration_pb2.Period, _Mapping]] = ..., readiness_share: _Optional[float] = ..., designated_share: _Optional[float] = ...) -> None: ...

class LevelShare(_message.Message):
    __slots__ = ("level", "output_value_cny", "share", "suppliers")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    level: _supplier_pb2.DesignationLevel
    output_value_cny: float
    share: float
    suppliers: int
    def __init__(self, level: _Optional[_Union[_supplier_pb2.DesignationLevel, str]] = ..., output_value_cny: _Optional[float] = ..., share: _Optional[float] = ..., suppliers: _Optional[int] = ...) -> None: ...

class LeverageItem(_message.Message):
    __slots__ = ("supplier_id", "supplier_name", "current_tier", "next_tier", "total_score", "points_to_next_tier", "output_value_cny", "green_share_gain", "tier_share_gain", "designated_share_gain")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_NAME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_TIER_FIELD_NUMBER: _ClassVar[int]
    NEXT_TIER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    POINTS_TO_NEXT_TIER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    GREEN_SHARE_GAIN_FIELD_NUMBER: _ClassVar[int]
    TIER_SHARE_GAIN_FIELD_NUMBER: _ClassVar[int]
    DESIGNATED_SHARE_GAIN_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    supplier_name: str
    current_tier: _rating_pb2.ReadinessTier
    next_tier: _rating_pb2.ReadinessTier
    total_score: float
    points_to_next_tier: float
    output_value_cny: float
    green_share_gain: float
    tier_share_gain: float
    designated_share_gain: float
    def __init__(self, supplier_id: _Optional[str] = ..., supplier_name: _Optional[str] = ..., current_tier: _Optional[_Union[_rating_pb2.ReadinessTier, str]] = ..., next_tier: _Optional[_Union[_rating_pb2.ReadinessTier, str]] = ..., total_score: _Optional[float] = ..., points_to_next_tier: _Optional[float] = ..., output_value_cny: _Optional[float] = ..., green_share_gain: _Optional[float] = ..., tier_share_gain: _Optional[float] = ..., designated_share_gain: _Optional[float] = ...) -> None: ...

class ChainProgress(_message.Message):
    __slots__ = ("chain_id", "target_share", "target_year", "readiness_share", "total_output_value_cny", "suppliers", "rated_suppliers", "tier_shares", "grade_counts", "tier_counts", "trend", "leverage", "as_of", "designated_share", "designated_by_level", "forecast_share", "gap_to_target", "purchase_weighted_designated_share", "purchase_value_suppliers", "leader")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_SHARE_FIELD_NUMBER: _ClassVar[int]
    TARGET_YEAR_FIELD_NUMBER: _ClassVar[int]
    READINESS_SHARE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    RATED_SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    TIER_SHARES_FIELD_NUMBER: _ClassVar[int]
    GRADE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    TIER_COUNTS_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    DESIGNATED_SHARE_FIELD_NUMBER: _ClassVar[int]
    DESIGNATED_BY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    FORECAST_SHARE_FIELD_NUMBER: _ClassVar[int]
    GAP_TO_TARGET_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_WEIGHTED_DESIGNATED_SHARE_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_VALUE_SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    target_share: float
    target_year: int
    readiness_share: float
    total_output_value_cny: float
    suppliers: int
    rated_suppliers: int
    tier_shares: _containers.RepeatedCompositeFieldContainer[TierShare]
    grade_counts: _containers.RepeatedCompositeFieldContainer[GradeCount]
    tier_counts: _containers.RepeatedCompositeFieldContainer[TierCount]
    trend: _containers.RepeatedCompositeFieldContainer[MonthlyProgress]
    leverage: _containers.RepeatedCompositeFieldContainer[LeverageItem]
    as_of: _timestamp_pb2.Timestamp
    designated_share: float
    designated_by_level: _containers.RepeatedCompositeFieldContainer[LevelShare]
    forecast_share: float
    gap_to_target: float
    purchase_weighted_designated_share: float
    purchase_value_suppliers: int
    leader: _supplier_pb2.Chain
    def __init__(self, chain_id: _Optional[str] = ..., target_share: _Optional[float] = ..., target_year: _Optional[int] = ..., readiness_share: _Optional[float] = ..., total_output_value_cny: _Optional[float] = ..., suppliers: _Optional[int] = ..., rated_suppliers: _Optional[int] = ..., tier_shares: _Optional[_Iterable[_Union[TierShare, _Mapping]]] = ..., grade_counts: _Optional[_Iterable[_Union[GradeCount, _Mapping]]] = ..., tier_counts: _Optional[_Iterable[_Union[TierCount, _Mapping]]] = ..., trend: _Optional[_Iterable[_Union[MonthlyProgress, _Mapping]]] = ..., leverage: _Optional[_Iterable[_Union[LeverageItem, _Mapping]]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., designated_share: _Optional[float] = ..., designated_by_level: _Optional[_Iterable[_Union[LevelShare, _Mapping]]] = ..., forecast_share: _Optional[float] = ..., gap_to_target: _Optional[float] = ..., purchase_weighted_designated_share: _Optional[float] = ..., purchase_value_suppliers: _Optional[int] = ..., leader: _Optional[_Union[_supplier_pb2.Chain, _Mapping]] = ...) -> None: ...

class VerifyHistoryRequest(_message.Message):
    __slots__ = ("supplier_id",)
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    def __init__(self, supplier_id: _Optional[str] = ...) -> None: ...

class VerifyHistoryResponse(_message.Message):
    __slots__ = ("supplier_id", "intact", "entries", "head_hash", "first_broken_sequence", "detail")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    INTACT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    intact: bool
    entries: int
    head_hash: bytes
    first_broken_sequence: int
    detail: str
    def __init__(self, supplier_id: _Optional[str] = ..., intact: _Optional[bool] = ..., entries: _Optional[int] = ..., head_hash: _Optional[bytes] = ..., first_broken_sequence: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("index", "supplier_id", "sequence", "rating", "principals", "previous_hash", "entry_hash", "source_partition", "source_offset")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    PRINCIPALS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_HASH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTITION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    index: int
    supplier_id: str
    sequence: int
    rating: bytes
    principals: _containers.RepeatedScalarFieldContainer[str]
    previous_hash: bytes
    entry_hash: bytes
    source_partition: int
    source_offset: int
    def __init__(self, index: _Optional[int] = ..., supplier_id: _Optional[str] = ..., sequence: _Optional[int] = ..., rating: _Optional[bytes] = ..., principals: _Optional[_Iterable[str]] = ..., previous_hash: _Optional[bytes] = ..., entry_hash: _Optional[bytes] = ..., source_partition: _Optional[int] = ..., source_offset: _Optional[int] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("note", "origin", "size", "root_hash")
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    note: str
    origin: str
    size: int
    root_hash: bytes
    def __init__(self, note: _Optional[str] = ..., origin: _Optional[str] = ..., size: _Optional[int] = ..., root_hash: _Optional[bytes] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("index", "supplier_entry", "tree_size")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    index: int
    supplier_entry: SupplierEntry
    tree_size: int
    def __init__(self, index: _Optional[int] = ..., supplier_entry: _Optional[_Union[SupplierEntry, _Mapping]] = ..., tree_size: _Optional[int] = ...) -> None: ...

class SupplierEntry(_message.Message):
    __slots__ = ("supplier_id", "sequence")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    sequence: int
    def __init__(self, supplier_id: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("index", "tree_size", "hashes", "entry", "checkpoint")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    index: int
    tree_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    entry: LedgerEntry
    checkpoint: Checkpoint
    def __init__(self, index: _Optional[int] = ..., tree_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., entry: _Optional[_Union[LedgerEntry, _Mapping]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_size", "second_size")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ...) -> None: ...

class ConsistencyProof(_message.Message):
    __slots__ = ("first_size", "second_size", "hashes", "checkpoint")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: Checkpoint
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...
