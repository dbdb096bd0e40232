import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssuranceLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSURANCE_LEVEL_UNSPECIFIED: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_SELF_DECLARED: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED: _ClassVar[AssuranceLevel]

class OffsetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFSET_KIND_UNSPECIFIED: _ClassVar[OffsetKind]
    OFFSET_KIND_CCER: _ClassVar[OffsetKind]
    OFFSET_KIND_GREEN_CERTIFICATE: _ClassVar[OffsetKind]
ASSURANCE_LEVEL_UNSPECIFIED: AssuranceLevel
ASSURANCE_LEVEL_SELF_DECLARED: AssuranceLevel
ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED: AssuranceLevel
OFFSET_KIND_UNSPECIFIED: OffsetKind
OFFSET_KIND_CCER: OffsetKind
OFFSET_KIND_GREEN_CERTIFICATE: OffsetKind

class Period(_message.Message):
    __slots__ = ("year", "month")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    year: int
    month: int
    def __init__(self, year: _Optional[int] = ..., month: _Optional[int] = ...) -> None: ...

class Assurance(_message.Message):
    __slots__ = ("level", "verifier", "statement_id")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    level: AssuranceLevel
    verifier: str
    statement_id: str
    def __init__(self, level: _Optional[_Union[AssuranceLevel, str]] = ..., verifier: _Optional[str] = ..., statement_id: _Optional[str] = ...) -> None: ...

class Declaration(_message.Message):
    __slots__ = ("declaration_id", "supplier_id", "site_id", "period", "submitted_at", "source", "assurance", "emissions", "energy", "circularity", "product_footprint", "offsets", "carbon_management", "verification")
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_FIELD_NUMBER: _ClassVar[int]
    EMISSIONS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    CIRCULARITY_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FOOTPRINT_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    CARBON_MANAGEMENT_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    supplier_id: str
    site_id: str
    period: Period
    submitted_at: _timestamp_pb2.Timestamp
    source: str
    assurance: Assurance
    emissions: EmissionsBody
    energy: EnergyBody
    circularity: CircularityBody
    product_footprint: ProductFootprintBody
    offsets: OffsetsBody
    carbon_management: CarbonManagementBody
    verification: Verification
    def __init__(self, declaration_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., site_id: _Optional[str] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., assurance: _Optional[_Union[Assurance, _Mapping]] = ..., emissions: _Optional[_Union[EmissionsBody, _Mapping]] = ..., energy: _Optional[_Union[EnergyBody, _Mapping]] = ..., circularity: _Optional[_Union[CircularityBody, _Mapping]] = ..., product_footprint: _Optional[_Union[ProductFootprintBody, _Mapping]] = ..., offsets: _Optional[_Union[OffsetsBody, _Mapping]] = ..., carbon_management: _Optional[_Union[CarbonManagementBody, _Mapping]] = ..., verification: _Optional[_Union[Verification, _Mapping]] = ...) -> None: ...

class Verification(_message.Message):
    __slots__ = ("verifier", "statement_id", "recorded_by")
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    verifier: str
    statement_id: str
    recorded_by: str
    def __init__(self, verifier: _Optional[str] = ..., statement_id: _Optional[str] = ..., recorded_by: _Optional[str] = ...) -> None: ...

class DeclarationBatch(_message.Message):
    __slots__ = ("declarations",)
    DECLARATIONS_FIELD_NUMBER: _ClassVar[int]
    declarations: _containers.RepeatedCompositeFieldContainer[BatchedDeclaration]
    def __init__(self, declarations: _Optional[_Iterable[_Union[BatchedDeclaration, _Mapping]]] = ...) -> None: ...

class BatchedDeclaration(_message.Message):
    __slots__ = ("declaration", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    declaration: Declaration
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, declaration: _Optional[_Union[Declaration, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EmissionsBody(_message.Message):
    __slots__ = ("scope1_tco2e", "scope2_location_tco2e", "scope2_market_tco2e", "scope3_tco2e", "output_value_cny", "production_volume", "production_unit")
    SCOPE1_TCO2E_FIELD_NUMBER: _ClassVar[int]
    SCOPE2_LOCATION_TCO2E_FIELD_NUMBER: _ClassVar[int]
    SCOPE2_MARKET_TCO2E_FIELD_NUMBER: _ClassVar[int]
    SCOPE3_TCO2E_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_CNY_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_VOLUME_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_UNIT_FIELD_NUMBER: _ClassVar[int]
    scope1_tco2e: float
    scope2_location_tco2e: float
    scope2_market_tco2e: float
    scope3_tco2e: float
    output_value_cny: float
    production_volume: float
    production_unit: str
    def __init__(self, scope1_tco2e: _Optional[float] = ..., scope2_location_tco2e: _Optional[float] = ..., scope2_market_tco2e: _Optional[float] = ..., scope3_tco2e: _Optional[float] = ..., output_value_cny: _Optional[float] = ..., production_volume: _Optional[float] = ..., production_unit: _Optional[str] = ...) -> None: ...

class EnergyBody(_message.Message):
    __slots__ = ("electricity_kwh", "renewable_onsite_kwh", "renewable_certificates_kwh", "renewable_ppa_kwh", "natural_gas_m3", "coal_t", "oil_products_t", "purchased_heat_gj", "grid_region", "gasoline_t", "diesel_t", "fuel_oil_t")
    ELECTRICITY_KWH_FIELD_NUMBER: _ClassVar[int]
    RENEWABLE_ONSITE_KWH_FIELD_NUMBER: _ClassVar[int]
    RENEWABLE_CERTIFICATES_KWH_FIELD_NUMBER: _ClassVar[int]
    RENEWABLE_PPA_KWH_FIELD_NUMBER: _ClassVar[int]
    NATURAL_GAS_M3_FIELD_NUMBER: _ClassVar[int]
    COAL_T_FIELD_NUMBER: _ClassVar[int]
    OIL_PRODUCTS_T_FIELD_NUMBER: _ClassVar[int]
    PURCHASED_HEAT_GJ_FIELD_NUMBER: _ClassVar[int]
    GRID_REGION_FIELD_NUMBER: _ClassVar[int]
    GASOLINE_T_FIELD_NUMBER: _ClassVar[int]
    DIESEL_T_FIELD_NUMBER: _ClassVar[int]
    FUEL_OIL_T_FIELD_NUMBER: _ClassVar[int]
    electricity_kwh: float
    renewable_onsite_kwh: float
    renewable_certificates_kwh: float
    renewable_ppa_kwh: float
    natural_gas_m3: float
    coal_t: float
    oil_products_t: float
    purchased_heat_gj: float
    grid_region: str
    gasoline_t: float
    diesel_t: float
    fuel_oil_t: float
    def __init__(self, electricity_kwh: _Optional[float] = ..., renewable_onsite_kwh: _Optional[float] = ..., renewable_certificates_kwh: _Optional[float] = ..., renewable_ppa_kwh: _Optional[float] = ..., natural_gas_m3: _Optional[float] = ..., coal_t: _Optional[float] = ..., oil_products_t: _Optional[float] = ..., purchased_heat_gj: _Optional[float] = ..., grid_region: _Optional[str] = ..., gasoline_t: _Optional[float] = ..., diesel_t: _Optional[float] = ..., fuel_oil_t: _Optional[float] = ...) -> None: ...

class CircularityBody(_message.Message):
    __slots__ = ("raw_material_input_t", "recycled_input_t", "solid_waste_generated_t", "solid_waste_utilised_t", "hazardous_waste_t", "water_withdrawn_m3", "water_reused_m3", "so2_t", "nox_t", "particulates_t", "cod_t", "ammonia_nitrogen_t")
    RAW_MATERIAL_INPUT_T_FIELD_NUMBER: _ClassVar[int]
    RECYCLED_INPUT_T_FIELD_NUMBER: _ClassVar[int]
    SOLID_WASTE_GENERATED_T_FIELD_NUMBER: _ClassVar[int]
    SOLID_WASTE_UTILISED_T_FIELD_NUMBER: _ClassVar[int]
    HAZARDOUS_WASTE_T_FIELD_NUMBER: _ClassVar[int]
    WATER_WITHDRAWN_M3_FIELD_NUMBER: _ClassVar[int]
    WATER_REUSED_M3_FIELD_NUMBER: _ClassVar[int]
    SO2_T_FIELD_NUMBER: _ClassVar[int]
    NOX_T_FIELD_NUMBER: _ClassVar[int]
    PARTICULATES_T_FIELD_NUMBER: _ClassVar[int]
    COD_T_FIELD_NUMBER: _ClassVar[int]
    AMMONIA_NITROGEN_T_FIELD_NUMBER: _ClassVar[int]
    raw_material_input_t: float
    recycled_input_t: float
    solid_waste_generated_t: float
    solid_waste_utilised_t: float
    hazardous_waste_t: float
    water_withdrawn_m3: float
    water_reused_m3: float
    so2_t: float
    nox_t: float
    particulates_t: float
    cod_t: float
    ammonia_nitrogen_t: float
    def __init__(self, raw_material_input_t: _Optional[float] = ..., recycled_input_t: _Optional[float] = ..., solid_waste_generated_t: _Optional[float] = ..., solid_waste_utilised_t: _Optional[float] = ..., hazardous_waste_t: _Optional[float] = ..., water_withdrawn_m3: _Optional[float] = ..., water_reused_m3: _Optional[float] = ..., so2_t: _Optional[float] = ..., nox_t: _Optional[float] = ..., particulates_t: _Optional[float] = ..., cod_t: _Optional[float] = ..., ammonia_nitrogen_t: _Optional[float] = ...) -> None: ...

class ProductFootprintBody(_message.Message):
    __slots__ = ("product_id", "product_name", "declared_unit", "declared_unit_amount", "legacy_pcf_excluding_biogenic_kgco2e", "legacy_pcf_including_biogenic_kgco2e", "primary_data_share", "reference_period_start", "reference_period_end", "output_value_share", "pact_footprint_id", "pact_spec_version", "pcf_excluding_biogenic_emissions_kgco2e", "pcf_including_biogenic_emissions_kgco2e", "pcf_excluding_biogenic_uptake_kgco2e", "pcf_including_biogenic_uptake_kgco2e", "primary_data_share_absent", "dqi", "preceding_pact_footprint_ids", "valid_until", "pact_deprecated")
    class DataQualityIndicators(_message.Message):
        __slots__ = ("coverage_percent", "technological_dqr", "temporal_dqr", "geographical_dqr", "completeness_dqr", "reliability_dqr")
        COVERAGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
        TECHNOLOGICAL_DQR_FIELD_NUMBER: _ClassVar[int]
        TEMPORAL_DQR_FIELD_NUMBER: _ClassVar[int]
        GEOGRAPHICAL_DQR_FIELD_NUMBER: _ClassVar[int]
        COMPLETENESS_DQR_FIELD_NUMBER: _ClassVar[int]
        RELIABILITY_DQR_FIELD_NUMBER: _ClassVar[int]
        coverage_percent: float
        technological_dqr: float
        temporal_dqr: float
        geographical_dqr: float
        completeness_dqr: float
        reliability_dqr: float
        def __init__(self, coverage_percent: _Optional[float] = ..., technological_dqr: _Optional[float] = ..., temporal_dqr: _Optional[float] = ..., geographical_dqr: _Optional[float] = ..., completeness_dqr: _Optional[float] = ..., reliability_dqr: _Optional[float] = ...) -> None: ...
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    DECLARED_UNIT_FIELD_NUMBER: _ClassVar[int]
    DECLARED_UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    LEGACY_PCF_EXCLUDING_BIOGENIC_KGCO2E_FIELD_NUMBER: _ClassVar[int]
    LEGACY_PCF_INCLUDING_BIOGENIC_KGCO2E_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_DATA_SHARE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VALUE_SHARE_FIELD_NUMBER: _ClassVar[int]
    PACT_FOOTPRINT_ID_FIELD_NUMBER: _ClassVar[int]
    PACT_SPEC_VERSION_FIELD_NUMBER: _ClassVar[int]
    PCF_EXCLUDING_BIOGENIC_EMISSIONS_KGCO2E_FIELD_NUMBER: _ClassVar[int]
    PCF_INCLUDING_BIOGENIC_EMISSIONS_KGCO2E_FIELD_NUMBER: _ClassVar[int]
    PCF_EXCLUDING_BIOGENIC_UPTAKE_KGCO2E_FIELD_NUMBER: _ClassVar[int]
    PCF_INCLUDING_BIOGENIC_UPTAKE_KGCO2E_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_DATA_SHARE_ABSENT_FIELD_NUMBER: _ClassVar[int]
    DQI_FIELD_NUMBER: _ClassVar[int]
    PRECEDING_PACT_FOOTPRINT_IDS_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    PACT_DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    product_name: str
    declared_unit: str
    declared_unit_amount: float
    legacy_pcf_excluding_biogenic_kgco2e: float
    legacy_pcf_including_biogenic_kgco2e: float
    primary_data_share: float
    reference_period_start: _timestamp_pb2.Timestamp
    reference_period_end: _timestamp_pb2.Timestamp
    output_value_share: float
    pact_footprint_id: str
    pact_spec_version: str
    pcf_excluding_biogenic_emissions_kgco2e: float
    pcf_including_biogenic_emissions_kgco2e: float
    pcf_excluding_biogenic_uptake_kgco2e: float
    pcf_including_biogenic_uptake_kgco2e: float
    primary_data_share_absent: bool
    dqi: ProductFootprintBody.DataQualityIndicators
    preceding_pact_footprint_ids: _containers.RepeatedScalarFieldContainer[str]
    valid_until: _timestamp_pb2.Timestamp
    pact_deprecated: bool
    def __init__(self, product_id: _Optional[str] = ..., product_name: _Optional[str] = ..., declared_unit: _Optional[str] = ..., declared_unit_amount: _Optional[float] = ..., legacy_pcf_excluding_biogenic_kgco2e: _Optional[float] = ..., legacy_pcf_including_biogenic_kgco2e: _Optional[float] = ..., primary_data_share: _Optional[float] = ..., reference_period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., output_value_share: _Optional[float] = ..., pact_footprint_id: _Optional[str] = ..., pact_spec_version: _Optional[str] = ..., pcf_excluding_biogenic_emissions_kgco2e: _Optional[float] = ..., pcf_including_biogenic_emissions_kgco2e: _Optional[float] = ..., pcf_excluding_biogenic_uptake_kgco2e: _Optional[float] = ..., pcf_including_biogenic_uptake_kgco2e: _Optional[float] = ..., primary_data_share_absent: _Optional[bool] = ..., dqi: _Optional[_Union[ProductFootprintBody.DataQualityIndicators, _Mapping]] = ..., preceding_pact_footprint_ids: _Optional[_Iterable[str]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pact_deprecated: _Optional[bool] = ...) -> None: ...

class OffsetsBody(_message.Message):
    __slots__ = ("retirements",)
    RETIREMENTS_FIELD_NUMBER: _ClassVar[int]
    retirements: _containers.RepeatedCompositeFieldContainer[OffsetRetirement]
    def __init__(self, retirements: _Optional[_Iterable[_Union[OffsetRetirement, _Mapping]]] = ...) -> None: ...

class OffsetRetirement(_message.Message):
    __slots__ = ("kind", "quantity", "serial_reference", "registry", "vintage_year")
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SERIAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_YEAR_FIELD_NUMBER: _ClassVar[int]
    kind: OffsetKind
    quantity: float
    serial_reference: str
    registry: str
    vintage_year: int
    def __init__(self, kind: _Optional[_Union[OffsetKind, str]] = ..., quantity: _Optional[float] = ..., serial_reference: _Optional[str] = ..., registry: _Optional[str] = ..., vintage_year: _Optional[int] = ...) -> None: ...

class CarbonManagementBody(_message.Message):
    __slots__ = ("accounting_system", "accounting_standard", "disclosure_published", "disclosure_reference")
    ACCOUNTING_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTING_STANDARD_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    accounting_system: bool
    accounting_standard: str
    disclosure_published: bool
    disclosure_reference: str
    def __init__(self, accounting_system: _Optional[bool] = ..., accounting_standard: _Optional[str] = ..., disclosure_published: _Optional[bool] = ..., disclosure_reference: _Optional[str] = ...) -> None: ...
