"""Typed configuration of one team environment (the `mlplat:` namespace of a stack file),
one module per layer:

    base.py         _Model, ConfigError (defined in mlplat.core.config_error), shared
                    annotated types (DnsLabel, Duration, RetentionDays) and the Env tier
    network.py      mlplat:network    (NetworkConfig, FlowLogsConfig, NatMode)
    cluster.py      mlplat:cluster    (ClusterConfig, EndpointAccessConfig,
                                       SystemNodeGroupConfig, SUPPORTED_KUBERNETES_VERSIONS)
    gpu_pools.py    mlplat:gpuPools   (GpuPoolConfig, CapacityType, PoolPurpose)
    cpu_pools.py    mlplat:cpuPools   (CpuPoolConfig, TaintConfig, CpuArchitecture,
                                       TaintEffect, ConsolidationPolicy)
    block_storage.py mlplat:blockStorage (BlockStorageConfig, ReclaimPolicy)
    object_store.py mlplat:objectStore (ObjectStoreConfig, BucketConfig, AccessLogsConfig)
    metadata_db.py  mlplat:metadataDb (MetadataDbConfig, DbAlarmsConfig)
    shared_filesystem.py mlplat:sharedFilesystem (SharedFilesystemConfig, ThroughputMode)
    mlflow.py       mlplat:mlflow     (MlflowConfig, MlflowPermission)
    onprem.py       mlplat:substrate, mlplat:onprem (OnpremConfig, Substrate: the on-prem
                                       cluster, MinIO, CloudNativePG; AWS-only fields refused)
    training.py     mlplat:training   (TrainingConfig, PoolQuotaConfig, QUEUE_LABEL)
    serving.py      mlplat:serving    (ServingConfig, IngressConfig, AutoscalingConfig,
                                       ModelRuntime, IngressController, LoadBalancerScheme)
    tenancy.py      mlplat:tenancy    (TenancyConfig, NamespaceConfig, QuotaConfig,
                                       ContainerDefaultsConfig, ServiceAccountConfig,
                                       BucketGrantConfig, PodSecurityLevel, BucketAccessLevel)
    environment.py  EnvironmentConfig (cross-layer rules, tags, region) and loading from a
                    stack file or the running Pulumi program
    platform.py     mlplat:platform and cluster.mode/platformStack (PlatformConfig,
                    ClusterMode): shared or dedicated
    cidrs.py        what a CIDR may mean (RFC 1918, internet, allow-list coverage)

Catalogs the rules check against (regions, instance types) are data files in mlplat/data/,
read by mlplat/catalog.py.

Every rule lives here, once; components trust a validated config. The public names are
re-exported so callers import from `mlplat.config`.
"""

from mlplat.config.base import CLOUDWATCH_RETENTION_DAYS, CONFIG_NAMESPACE, ConfigError, Env
from mlplat.config.block_storage import BlockStorageConfig, ReclaimPolicy
from mlplat.config.cluster import (
    SUPPORTED_KUBERNETES_VERSIONS,
    ClusterConfig,
    EndpointAccessConfig,
    SystemNodeGroupConfig,
)
from mlplat.config.cpu_pools import (
    ConsolidationPolicy,
    CpuArchitecture,
    CpuPoolConfig,
    TaintConfig,
    TaintEffect,
)
from mlplat.config.environment import (
    INTERRUPTION_QUEUE_SUFFIX,
    REQUIRED_TAGS,
    RESERVED_TAG_PREFIXES,
    SQS_QUEUE_NAME_MAX,
    TAGS_ADDED_PER_RESOURCE,
    EnvironmentConfig,
    environment_from_pulumi,
    environment_from_stack_config,
    load_stack_file,
    parse_environment,
)
from mlplat.config.gpu_pools import CapacityType, GpuPoolConfig, PoolPurpose
from mlplat.config.metadata_db import (
    MIN_BACKUP_RETENTION_DAYS,
    MIN_PROD_BACKUP_RETENTION_DAYS,
    DbAlarmsConfig,
    MetadataDbConfig,
)
from mlplat.config.mlflow import (
    ARTIFACTS_PURPOSE,
    MLFLOW_SERVICE_ACCOUNT,
    MlflowConfig,
    MlflowPermission,
)
from mlplat.config.network import (
    MAX_AVAILABILITY_ZONES,
    FlowLogsConfig,
    NatMode,
    NetworkConfig,
)
from mlplat.config.object_store import (
    ACCESS_LOG_PURPOSE,
    REQUIRED_PURPOSES,
    AccessLogsConfig,
    BucketConfig,
    ObjectStoreConfig,
)
from mlplat.config.onprem import OnpremConfig, Substrate
from mlplat.config.platform import ClusterMode, PlatformConfig, referenced_stack
from mlplat.config.serving import (
    AutoscalingConfig,
    IngressConfig,
    IngressController,
    LoadBalancerScheme,
    ModelRuntime,
    ServingConfig,
)
from mlplat.config.shared_filesystem import SharedFilesystemConfig, ThroughputMode
from mlplat.config.tenancy import (
    BucketAccessLevel,
    BucketGrantConfig,
    ContainerDefaultsConfig,
    NamespaceConfig,
    PodSecurityLevel,
    QuotaConfig,
    ServiceAccountConfig,
    TenancyConfig,
)
from mlplat.config.training import QUEUE_LABEL, PoolQuotaConfig, TrainingConfig

__all__ = [
    "ACCESS_LOG_PURPOSE",
    "ARTIFACTS_PURPOSE",
    "CLOUDWATCH_RETENTION_DAYS",
    "CONFIG_NAMESPACE",
    "INTERRUPTION_QUEUE_SUFFIX",
    "MAX_AVAILABILITY_ZONES",
    "MIN_BACKUP_RETENTION_DAYS",
    "MIN_PROD_BACKUP_RETENTION_DAYS",
    "MLFLOW_SERVICE_ACCOUNT",
    "QUEUE_LABEL",
    "REQUIRED_PURPOSES",
    "REQUIRED_TAGS",
    "RESERVED_TAG_PREFIXES",
    "SQS_QUEUE_NAME_MAX",
    "SUPPORTED_KUBERNETES_VERSIONS",
    "TAGS_ADDED_PER_RESOURCE",
    "AccessLogsConfig",
    "AutoscalingConfig",
    "BlockStorageConfig",
    "BucketAccessLevel",
    "BucketConfig",
    "BucketGrantConfig",
    "CapacityType",
    "ClusterConfig",
    "ClusterMode",
    "ConfigError",
    "ConsolidationPolicy",
    "ContainerDefaultsConfig",
    "CpuArchitecture",
    "CpuPoolConfig",
    "DbAlarmsConfig",
    "EndpointAccessConfig",
    "Env",
    "EnvironmentConfig",
    "FlowLogsConfig",
    "GpuPoolConfig",
    "IngressConfig",
    "IngressController",
    "LoadBalancerScheme",
    "MetadataDbConfig",
    "MlflowConfig",
    "MlflowPermission",
    "ModelRuntime",
    "NamespaceConfig",
    "NatMode",
    "NetworkConfig",
    "ObjectStoreConfig",
    "OnpremConfig",
    "PlatformConfig",
    "PodSecurityLevel",
    "PoolPurpose",
    "PoolQuotaConfig",
    "QuotaConfig",
    "ReclaimPolicy",
    "ServiceAccountConfig",
    "ServingConfig",
    "SharedFilesystemConfig",
    "Substrate",
    "SystemNodeGroupConfig",
    "TaintConfig",
    "TaintEffect",
    "TenancyConfig",
    "ThroughputMode",
    "TrainingConfig",
    "environment_from_pulumi",
    "environment_from_stack_config",
    "load_stack_file",
    "parse_environment",
    "referenced_stack",
]
