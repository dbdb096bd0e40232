import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DesignationLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIGNATION_LEVEL_UNSPECIFIED: _ClassVar[DesignationLevel]
    DESIGNATION_LEVEL_MUNICIPAL: _ClassVar[DesignationLevel]
    DESIGNATION_LEVEL_PROVINCIAL: _ClassVar[DesignationLevel]
    DESIGNATION_LEVEL_NATIONAL: _ClassVar[DesignationLevel]

class DesignationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIGNATION_STATUS_UNSPECIFIED: _ClassVar[DesignationStatus]
    DESIGNATION_STATUS_ACTIVE: _ClassVar[DesignationStatus]
    DESIGNATION_STATUS_REVOKED: _ClassVar[DesignationStatus]
DESIGNATION_LEVEL_UNSPECIFIED: DesignationLevel
DESIGNATION_LEVEL_MUNICIPAL: DesignationLevel
DESIGNATION_LEVEL_PROVINCIAL: DesignationLevel
DESIGNATION_LEVEL_NATIONAL: DesignationLevel
DESIGNATION_STATUS_UNSPECIFIED: DesignationStatus
DESIGNATION_STATUS_ACTIVE: DesignationStatus
DESIGNATION_STATUS_REVOKED: DesignationStatus

class Designation(_message.Message):
    __slots__ = ("level", "year", "list_reference", "status")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    LIST_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    level: DesignationLevel
    year: int
    list_reference: str
    status: DesignationStatus
    def __init__(self, level: _Optional[_Union[DesignationLevel, str]] = ..., year: _Optional[int] = ..., list_reference: _Optional[str] = ..., status: _Optional[_Union[DesignationStatus, str]] = ...) -> None: ...

class Site(_message.Message):
    __slots__ = ("site_id", "name", "land_area_m2", "region", "green_factory", "zero_carbon_factory")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LAND_AREA_M2_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    GREEN_FACTORY_FIELD_NUMBER: _ClassVar[int]
    ZERO_CARBON_FACTORY_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    name: str
    land_area_m2: float
    region: str
    green_factory: Designation
    zero_carbon_factory: Designation
    def __init__(self, site_id: _Optional[str] = ..., name: _Optional[str] = ..., land_area_m2: _Optional[float] = ..., region: _Optional[str] = ..., green_factory: _Optional[_Union[Designation, _Mapping]] = ..., zero_carbon_factory: _Optional[_Union[Designation, _Mapping]] = ...) -> None: ...

class ChainPurchase(_message.Message):
    __slots__ = ("chain_id", "annual_purchase_value_cny")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_PURCHASE_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    annual_purchase_value_cny: float
    def __init__(self, chain_id: _Optional[str] = ..., annual_purchase_value_cny: _Optional[float] = ...) -> None: ...

class Supplier(_message.Message):
    __slots__ = ("supplier_id", "name", "sector_code", "region", "sites", "chain_ids", "annual_output_value_cny", "updated_at", "credit_code", "purchases")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    name: str
    sector_code: str
    region: str
    sites: _containers.RepeatedCompositeFieldContainer[Site]
    chain_ids: _containers.RepeatedScalarFieldContainer[str]
    annual_output_value_cny: float
    updated_at: _timestamp_pb2.Timestamp
    credit_code: str
    purchases: _containers.RepeatedCompositeFieldContainer[ChainPurchase]
    def __init__(self, supplier_id: _Optional[str] = ..., name: _Optional[str] = ..., sector_code: _Optional[str] = ..., region: _Optional[str] = ..., sites: _Optional[_Iterable[_Union[Site, _Mapping]]] = ..., chain_ids: _Optional[_Iterable[str]] = ..., annual_output_value_cny: _Optional[float] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credit_code: _Optional[str] = ..., purchases: _Optional[_Iterable[_Union[ChainPurchase, _Mapping]]] = ...) -> None: ...

class Chain(_message.Message):
    __slots__ = ("chain_id", "name", "credit_code", "green_supply_chain", "updated_at")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    GREEN_SUPPLY_CHAIN_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    name: str
    credit_code: str
    green_supply_chain: Designation
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, chain_id: _Optional[str] = ..., name: _Optional[str] = ..., credit_code: _Optional[str] = ..., green_supply_chain: _Optional[_Union[Designation, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
