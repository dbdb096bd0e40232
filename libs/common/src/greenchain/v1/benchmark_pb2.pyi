from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SupplierIndicators(_message.Message):
    __slots__ = ("supplier_id", "sector_code", "insufficient", "green_factory_level", "values", "emitted")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    INSUFFICIENT_FIELD_NUMBER: _ClassVar[int]
    GREEN_FACTORY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    EMITTED_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    sector_code: str
    insufficient: bool
    green_factory_level: str
    values: _containers.ScalarMap[str, float]
    emitted: EmittedRating
    def __init__(self, supplier_id: _Optional[str] = ..., sector_code: _Optional[str] = ..., insufficient: _Optional[bool] = ..., green_factory_level: _Optional[str] = ..., values: _Optional[_Mapping[str, float]] = ..., emitted: _Optional[_Union[EmittedRating, _Mapping]] = ...) -> None: ...

class EmittedRating(_message.Message):
    __slots__ = ("revision", "fingerprint", "total_score", "grade", "readiness_tier", "sector_percentile", "benchmark_version", "registry_digest", "rating_partition", "rating_next_offset")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    READINESS_TIER_FIELD_NUMBER: _ClassVar[int]
    SECTOR_PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_VERSION_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RATING_PARTITION_FIELD_NUMBER: _ClassVar[int]
    RATING_NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    revision: int
    fingerprint: str
    total_score: float
    grade: int
    readiness_tier: int
    sector_percentile: float
    benchmark_version: str
    registry_digest: str
    rating_partition: int
    rating_next_offset: int
    def __init__(self, revision: _Optional[int] = ..., fingerprint: _Optional[str] = ..., total_score: _Optional[float] = ..., grade: _Optional[int] = ..., readiness_tier: _Optional[int] = ..., sector_percentile: _Optional[float] = ..., benchmark_version: _Optional[str] = ..., registry_digest: _Optional[str] = ..., rating_partition: _Optional[int] = ..., rating_next_offset: _Optional[int] = ...) -> None: ...

class BenchmarkSnapshot(_message.Message):
    __slots__ = ("snapshot_id", "methodology_version", "suppliers", "stats", "ranks")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    METHODOLOGY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    RANKS_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: str
    methodology_version: str
    suppliers: int
    stats: _containers.RepeatedCompositeFieldContainer[SectorStats]
    ranks: _containers.RepeatedCompositeFieldContainer[SectorRanks]
    def __init__(self, snapshot_id: _Optional[str] = ..., methodology_version: _Optional[str] = ..., suppliers: _Optional[int] = ..., stats: _Optional[_Iterable[_Union[SectorStats, _Mapping]]] = ..., ranks: _Optional[_Iterable[_Union[SectorRanks, _Mapping]]] = ...) -> None: ...

class SectorStats(_message.Message):
    __slots__ = ("sector_code", "pooled", "indicators")
    class IndicatorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: IndicatorStats
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[IndicatorStats, _Mapping]] = ...) -> None: ...
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    POOLED_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    sector_code: str
    pooled: bool
    indicators: _containers.MessageMap[str, IndicatorStats]
    def __init__(self, sector_code: _Optional[str] = ..., pooled: _Optional[bool] = ..., indicators: _Optional[_Mapping[str, IndicatorStats]] = ...) -> None: ...

class IndicatorStats(_message.Message):
    __slots__ = ("benchmark", "leading", "n")
    BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    LEADING_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    benchmark: float
    leading: float
    n: int
    def __init__(self, benchmark: _Optional[float] = ..., leading: _Optional[float] = ..., n: _Optional[int] = ...) -> None: ...

class SectorRanks(_message.Message):
    __slots__ = ("sector_code", "rated", "percentile_bounds", "national", "a_plus_min_total", "a_min_total")
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    RATED_FIELD_NUMBER: _ClassVar[int]
    PERCENTILE_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_FIELD_NUMBER: _ClassVar[int]
    A_PLUS_MIN_TOTAL_FIELD_NUMBER: _ClassVar[int]
    A_MIN_TOTAL_FIELD_NUMBER: _ClassVar[int]
    sector_code: str
    rated: int
    percentile_bounds: _containers.RepeatedScalarFieldContainer[float]
    national: int
    a_plus_min_total: float
    a_min_total: float
    def __init__(self, sector_code: _Optional[str] = ..., rated: _Optional[int] = ..., percentile_bounds: _Optional[_Iterable[float]] = ..., national: _Optional[int] = ..., a_plus_min_total: _Optional[float] = ..., a_min_total: _Optional[float] = ...) -> None: ...
