import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Site(_message.Message):
    __slots__ = ("site_id", "name", "land_area_m2", "region")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LAND_AREA_M2_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    name: str
    land_area_m2: float
    region: str
    def __init__(self, site_id: _Optional[str] = ..., name: _Optional[str] = ..., land_area_m2: _Optional[float] = ..., region: _Optional[str] = ...) -> None: ...

class Supplier(_message.Message):
    __slots__ = ("supplier_id", "name", "sector_code", "region", "sites", "chain_ids", "annual_output_value_cny", "updated_at")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SECTOR_CODE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    name: str
    sector_code: str
    region: str
    sites: _containers.RepeatedCompositeFieldContainer[Site]
    chain_ids: _containers.RepeatedScalarFieldContainer[str]
    annual_output_value_cny: float
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, supplier_id: _Optional[str] = ..., name: _Optional[str] = ..., sector_code: _Optional[str] = ..., region: _Optional[str] = ..., sites: _Optional[_Iterable[_Union[Site, _Mapping]]] = ..., chain_ids: _Optional[_Iterable[str]] = ..., annual_output_value_cny: _Optional[float] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
