import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from greenchain.v1 import declaration_pb2 as _declaration_pb2
from greenchain.v1 import supplier_pb2 as _supplier_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_LOW_CARBON_ENERGY: _ClassVar[Category]
    CATEGORY_RESOURCE_EFFICIENCY: _ClassVar[Category]
    CATEGORY_CLEAN_PRODUCTION: _ClassVar[Category]
    CATEGORY_GREEN_PRODUCTS: _ClassVar[Category]
    CATEGORY_INTENSIVE_LAND_USE: _ClassVar[Category]

class Grade(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRADE_UNSPECIFIED: _ClassVar[Grade]
    GRADE_INSUFFICIENT_DATA: _ClassVar[Grade]
    GRADE_B: _ClassVar[Grade]
    GRADE_A: _ClassVar[Grade]
    GRADE_A_PLUS: _ClassVar[Grade]
    GRADE_NOT_ELIGIBLE: _ClassVar[Grade]

class ReadinessTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READINESS_TIER_UNSPECIFIED: _ClassVar[ReadinessTier]
    READINESS_TIER_NOT_YET: _ClassVar[ReadinessTier]
    READINESS_TIER_MUNICIPAL: _ClassVar[ReadinessTier]
    READINESS_TIER_PROVINCIAL: _ClassVar[ReadinessTier]
    READINESS_TIER_NATIONAL: _ClassVar[ReadinessTier]

class BenchmarkSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BENCHMARK_SOURCE_UNSPECIFIED: _ClassVar[BenchmarkSource]
    BENCHMARK_SOURCE_SECTOR_TABLE: _ClassVar[BenchmarkSource]
    BENCHMARK_SOURCE_POPULATION: _ClassVar[BenchmarkSource]

class ZeroCarbonStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ZERO_CARBON_STATUS_UNSPECIFIED: _ClassVar[ZeroCarbonStatus]
    ZERO_CARBON_STATUS_NOT_MET: _ClassVar[ZeroCarbonStatus]
    ZERO_CARBON_STATUS_CRITERIA_MET: _ClassVar[ZeroCarbonStatus]
    ZERO_CARBON_STATUS_DESIGNATED: _ClassVar[ZeroCarbonStatus]
CATEGORY_UNSPECIFIED: Category
CATEGORY_LOW_CARBON_ENERGY: Category
CATEGORY_RESOURCE_EFFICIENCY: Category
CATEGORY_CLEAN_PRODUCTION: Category
CATEGORY_GREEN_PRODUCTS: Category
CATEGORY_INTENSIVE_LAND_USE: Category
GRADE_UNSPECIFIED: Grade
GRADE_INSUFFICIENT_DATA: Grade
GRADE_B: Grade
GRADE_A: Grade
GRADE_A_PLUS: Grade
GRADE_NOT_ELIGIBLE: Grade
READINESS_TIER_UNSPECIFIED: ReadinessTier
READINESS_TIER_NOT_YET: ReadinessTier
READINESS_TIER_MUNICIPAL: ReadinessTier
READINESS_TIER_PROVINCIAL: ReadinessTier
READINESS_TIER_NATIONAL: ReadinessTier
BENCHMARK_SOURCE_UNSPECIFIED: BenchmarkSource
BENCHMARK_SOURCE_SECTOR_TABLE: BenchmarkSource
BENCHMARK_SOURCE_POPULATION: BenchmarkSource
ZERO_CARBON_STATUS_UNSPECIFIED: ZeroCarbonStatus
ZERO_CARBON_STATUS_NOT_MET: ZeroCarbonStatus
ZERO_CARBON_STATUS_CRITERIA_MET: ZeroCarbonStatus
ZERO_CARBON_STATUS_DESIGNATED: ZeroCarbonStatus

class IndicatorScore(_message.Message):
    __slots__ = ("indicator", "category", "unit", "value", "benchmark_value", "leading_value", "lower_is_better", "points", "max_points", "benchmark_source")
    INDICATOR_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_VALUE_FIELD_NUMBER: _ClassVar[int]
    LEADING_VALUE_FIELD_NUMBER: _ClassVar[int]
    LOWER_IS_BETTER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    MAX_POINTS_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_SOURCE_FIELD_NUMBER: _ClassVar[int]
    indicator: str
    category: Category
    unit: str
    value: float
    benchmark_value: float
    leading_value: float
    lower_is_better: bool
    points: float
    max_points: float
    benchmark_source: BenchmarkSource
    def __init__(self, indicator: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., unit: _Optional[str] = ..., value: _Optional[float] = ..., benchmark_value: _Optional[float] = ..., leading_value: _Optional[float] = ..., lower_is_better: _Optional[bool] = ..., points: _Optional[float] = ..., max_points: _Optional[float] = ..., benchmark_source: _Optional[_Union[BenchmarkSource, str]] = ...) -> None: ...

class CategoryScore(_message.Message):
    __slots__ = ("category", "weight", "points")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    category: Category
    weight: float
    points: float
    def __init__(self, category: _Optional[_Union[Category, str]] = ..., weight: _Optional[float] = ..., points: _Optional[float] = ...) -> None: ...

class DataCoverage(_message.Message):
    __slots__ = ("window_months", "months_present", "verified_share", "declarations_used")
    WINDOW_MONTHS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_PRESENT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_SHARE_FIELD_NUMBER: _ClassVar[int]
    DECLARATIONS_USED_FIELD_NUMBER: _ClassVar[int]
    window_months: int
    months_present: int
    verified_share: float
    declarations_used: int
    def __init__(self, window_months: _Optional[int] = ..., months_present: _Optional[int] = ..., verified_share: _Optional[float] = ..., declarations_used: _Optional[int] = ...) -> None: ...

class Threshold(_message.Message):
    __slots__ = ("name", "value", "basis")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    basis: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., basis: _Optional[str] = ...) -> None: ...

class Criterion(_message.Message):
    __slots__ = ("name", "met", "value", "requirement", "basis")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    name: str
    met: bool
    value: float
    requirement: str
    basis: str
    def __init__(self, name: _Optional[str] = ..., met: _Optional[bool] = ..., value: _Optional[float] = ..., requirement: _Optional[str] = ..., basis: _Optional[str] = ...) -> None: ...

class SiteStatus(_message.Message):
    __slots__ = ("site_id", "green_factory", "zero_carbon_factory", "output_value_cny")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    GREEN_FACTORY_FIELD_NUMBER: _ClassVar[int]
    ZERO_CARBON_FACTORY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    green_factory: _supplier_pb2.Designation
    zero_carbon_factory: _supplier_pb2.Designation
    output_value_cny: float
    def __init__(self, site_id: _Optional[str] = ..., green_factory: _Optional[_Union[_supplier_pb2.Designation, _Mapping]] = ..., zero_carbon_factory: _Optional[_Union[_supplier_pb2.Designation, _Mapping]] = ..., output_value_cny: _Optional[float] = ...) -> None: ...

class SupplierRating(_message.Message):
    __slots__ = ("supplier_id", "supplier_name", "sector_code", "chain_ids", "as_of", "window_start", "window_end", "indicators", "categories", "total_score", "grade", "readiness_tier", "zero_carbon_candidate", "score_change", "previous_tier", "coverage", "methodology_version", "insufficient_reasons", "output_value_cny", "revision", "next_tier_min_score", "sector_percentile", "thresholds", "zero_carbon_status", "zero_carbon_criteria", "sites", "green_factory_level", "credit_code", "purchases", "declarations_digest", "benchmark_version")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_NAME_FIELD_NUMBER: _ClassVar[int]
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    READINESS_TIER_FIELD_NUMBER: _ClassVar[int]
    ZERO_CARBON_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    SCORE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TIER_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    METHODOLOGY_VERSION_FIELD_NUMBER: _ClassVar[int]
    INSUFFICIENT_REASONS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    NEXT_TIER_MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    SECTOR_PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    ZERO_CARBON_STATUS_FIELD_NUMBER: _ClassVar[int]
    ZERO_CARBON_CRITERIA_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    GREEN_FACTORY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    DECLARATIONS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_VERSION_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    supplier_name: str
    sector_code: str
    chain_ids: _containers.RepeatedScalarFieldContainer[str]
    as_of: _timestamp_pb2.Timestamp
    window_start: _declaration_pb2.Period
    window_end: _declaration_pb2.Period
    indicators: _containers.RepeatedCompositeFieldContainer[IndicatorScore]
    categories: _containers.RepeatedCompositeFieldContainer[CategoryScore]
    total_score: float
    grade: Grade
    readiness_tier: ReadinessTier
    zero_carbon_candidate: bool
    score_change: float
    previous_tier: ReadinessTier
    coverage: DataCoverage
    methodology_version: str
    insufficient_reasons: _containers.RepeatedScalarFieldContainer[str]
    output_value_cny: float
    revision: int
    next_tier_min_score: float
    sector_percentile: float
    thresholds: _containers.RepeatedCompositeFieldContainer[Threshold]
    zero_carbon_status: ZeroCarbonStatus
    zero_carbon_criteria: _containers.RepeatedCompositeFieldContainer[Criterion]
    sites: _containers.RepeatedCompositeFieldContainer[SiteStatus]
    green_factory_level: _supplier_pb2.DesignationLevel
    credit_code: str
    purchases: _containers.RepeatedCompositeFieldContainer[_supplier_pb2.ChainPurchase]
    declarations_digest: str
    benchmark_version: str
    def __init__(self, supplier_id: _Optional[str] = ..., supplier_name: _Optional[str] = ..., sector_code: _Optional[str] = ..., chain_ids: _Optional[_Iterable[str]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_start: _Optional[_Union[_declaration_pb2.Period, _Mapping]] = ..., window_end: _Optional[_Union[_declaration_pb2.Period, _Mapping]] = ..., indicators: _Optional[_Iterable[_Union[IndicatorScore, _Mapping]]] = ..., categories: _Optional[_Iterable[_Union[CategoryScore, _Mapping]]] = ..., total_score: _Optional[float] = ..., grade: _Optional[_Union[Grade, str]] = ..., readiness_tier: _Optional[_Union[ReadinessTier, str]] = ..., zero_carbon_candidate: _Optional[bool] = ..., score_change: _Optional[float] = ..., previous_tier: _Optional[_Union[ReadinessTier, str]] = ..., coverage: _Optional[_Union[DataCoverage, _Mapping]] = ..., methodology_version: _Optional[str] = ..., insufficient_reasons: _Optional[_Iterable[str]] = ..., output_value_cny: _Optional[float] = ..., revision: _Optional[int] = ..., next_tier_min_score: _Optional[float] = ..., sector_percentile: _Optional[float] = ..., thresholds: _Optional[_Iterable[_Union[Threshold, _Mapping]]] = ..., zero_carbon_status: _Optional[_Union[ZeroCarbonStatus, str]] = ..., zero_carbon_criteria: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ..., sites: _Optional[_Iterable[_Union[SiteStatus, _Mapping]]] = ..., green_factory_level: _Optional[_Union[_supplier_pb2.DesignationLevel, str]] = ..., credit_code: _Optional[str] = ..., purchases: _Optional[_Iterable[_Union[_supplier_pb2.ChainPurchase, _Mapping]]] = ..., declarations_digest: _Optional[str] = ..., benchmark_version: _Optional[str] = ...) -> None: ...
