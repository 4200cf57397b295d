"""Shared file system: an encrypted Amazon EFS file system for training data that many pods
read at once, the EFS CSI driver (EKS add-on) and the StorageClass `efs-shared`.

Why EFS rather than FSx for Lustre: docs/adr/0007-shared-filesystem-efs.md.

What gets created (children of one `mlplat:aws/shared_filesystem:SharedFilesystem`):

* A rotating KMS key usable only through EFS (`kms:ViaService`), and the file system
  encrypted with it (general purpose performance mode, throughput and Infrequent Access
  lifecycle from config), with a backup policy (on where data is protected).
* A file system policy: mount and write only through a mount target, never as root, only
  over TLS (the CSI driver mounts with TLS by default).
* A security group admitting NFS (TCP 2049) from the node security group only, and one
  mount target per private subnet (every availability zone the nodes run in).
* The EFS CSI driver as an EKS add-on at the pinned version, its controller's Pod Identity
  role with an inline policy scoped to this file system (components/_lib/policies.py).
* StorageClass `efs-shared`: dynamic provisioning with one access point per claim, under a
  directory per namespace (`/<namespace>/<claim>`), directories 700 owned by a GID the
  driver picks from the configured range. Cluster-scoped, so every team namespace can use
  it; the access point pins the POSIX identity, so any pod UID (restricted Pod Security)
  reads and writes its own volume.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components._lib.kms import service_only_key
from components._lib.log_group import account_context
from components._lib.naming import Tagger
from components._lib.policies import (
    efs_csi_controller_policy,
    efs_file_system_policy,
)
from components._lib.security_group import single_port_security_group
from components.aws.addons import managed_addon
from components.aws.cluster_iam import ClusterScope, bind_service_account, service_account_role
from mlplat.config import ReclaimPolicy, SharedFilesystemConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/shared_filesystem:SharedFilesystem"

NFS_PORT = 2049
STORAGE_CLASS_NAME = "efs-shared"
EFS_CSI_PROVISIONER = "efs.csi.aws.com"
EFS_CSI_NAMESPACE = "kube-system"
EFS_CSI_CONTROLLER_SERVICE_ACCOUNT = "efs-csi-controller-sa"


@dataclass(frozen=True)
class SharedFilesystemArgs:
    """Inputs of SharedFilesystem."""

    settings: SharedFilesystemConfig
    """Validated `mlplat:sharedFilesystem`."""
    environment: str
    """`<team>-<env>`: names the key alias and the file system."""
    cluster_name: str
    """Cluster name known up front (IAM role prefix, Pod Identity trust)."""
    cluster_name_output: pulumi.Input[str]
    """The Cluster's name output (the add-on and the association wait for the cluster)."""
    kubernetes_version: str
    """Selects the add-on pin from components/versions.py."""
    vpc_id: pulumi.Input[str]
    """VPC of the mount targets' security group."""
    private_subnet_ids: pulumi.Input[list[str]]
    """Private subnets, one per availability zone; each gets a mount target."""
    subnet_count: int
    """How many private subnets there are (config's availability zone count)."""
    node_security_group_id: pulumi.Input[str]
    """The only security group NFS is admitted from."""
    k8s_provider: k8s.Provider
    """Provider of the target cluster; the add-on waits for it (and so for the nodes)."""
    backup: bool
    """Effective backup setting (config, else on where data is protected)."""
    reclaim_policy: ReclaimPolicy
    """Reclaim policy of `efs-shared` (the environment's, as for `gp3-encrypted`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource here."""


def storage_class_parameters(
    file_system_id: pulumi.Input[str], settings: SharedFilesystemConfig
) -> dict[str, pulumi.Input[str]]:
    """Parameters of `efs-shared` (strings, as the StorageClass API requires)."""
    return {
        "provisioningMode": "efs-ap",
        "fileSystemId": file_system_id,
        "directoryPerms": "700",
        "gidRangeStart": str(settings.gid_range_start),
        "gidRangeEnd": str(settings.gid_range_end),
        "basePath": "/volumes",
        # One directory per namespace, one per claim below it: a team's data stays apart
        # from another's even though the file system is shared.
        "subPathPattern": "${.PVC.namespace}/${.PVC.name}",
        "ensureUniqueDirectory": "true",
    }


def lifecycle_policies(settings: SharedFilesystemConfig) -> list[dict[str, str]]:
    """Infrequent Access transition (if configured) and the move back on first access."""
    if settings.transition_to_ia_days is None:
        return []
    return [
        {"transition_to_ia": f"AFTER_{settings.transition_to_ia_days}_DAYS"},
        {"transition_to_primary_storage_class": "AFTER_1_ACCESS"},
    ]


def _nth(index: int) -> Callable[[list[str]], str]:
    """Picks one subnet id from the resolved list (a loop lambda would bind late)."""
    return lambda ids: ids[index]


class SharedFilesystem(pulumi.ComponentResource):
    """EFS for shared training data, its CSI driver and StorageClass."""

    file_system_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    storage_class_name: str

    def __init__(
        self, name: str, args: SharedFilesystemArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        settings = args.settings
        tag = Tagger(args.tags, name)
        child = pulumi.ResourceOptions(parent=self)
        where = account_context(pulumi.InvokeOutputOptions(parent=self))

        key = service_only_key(
            resource_name=f"{name}-key",
            description=f"Encrypts the shared file system of {args.environment}",
            service="elasticfilesystem",
            where=where,
            alias_name=f"alias/mlplat/{args.environment}/shared-filesystem",
            tag=tag,
            opts=child,
        )
        file_system = aws.efs.FileSystem(
            f"{name}-efs",
            creation_token=f"{args.environment}-shared",
            encrypted=True,
            kms_key_id=key.arn,
            performance_mode="generalPurpose",
            throughput_mode=settings.throughput_mode.value,
            lifecycle_policies=lifecycle_policies(settings),
            tags=tag("efs"),
            opts=child,
        )
        aws.efs.BackupPolicy(
            f"{name}-backup",
            file_system_id=file_system.id,
            backup_policy={"status": "ENABLED" if args.backup else "DISABLED"},
            opts=child,
        )
        aws.efs.FileSystemPolicy(
            f"{name}-fs-policy",
            file_system_id=file_system.id,
            policy=file_system.arn.apply(lambda arn: json.dumps(efs_file_system_policy(arn))),
            opts=child,
        )

        security_group = single_port_security_group(
            prefix=name,
            description=f"Shared file system of {args.environment}: NFS from nodes",
            vpc_id=args.vpc_id,
            client_security_group_id=args.node_security_group_id,
            port=NFS_PORT,
            rule_description="NFS from cluster nodes",
            tag=tag,
            opts=child,
        )
        subnets = pulumi.Output.from_input(args.private_subnet_ids)
        for index in range(args.subnet_count):
            aws.efs.MountTarget(
                f"{name}-mount-{index}",
                file_system_id=file_system.id,
                subnet_id=subnets.apply(_nth(index)),
                security_groups=[security_group.id],
                opts=child,
            )

        self._csi_driver(name, args, tag, where.partition, where.region, where.account,
                         file_system)
        k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata={"name": STORAGE_CLASS_NAME},
            provisioner=EFS_CSI_PROVISIONER,
            parameters=storage_class_parameters(file_system.id, settings),
            # EFS is reachable from every zone: no need to wait for the pod's node.
            volume_binding_mode="Immediate",
            reclaim_policy=args.reclaim_policy.value,
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider),
        )

        self.file_system_id = file_system.id
        self.kms_key_arn = key.arn
        self.security_group_id = security_group.id
        self.storage_class_name = STORAGE_CLASS_NAME
        self.register_outputs({
            "file_system_id": self.file_system_id,
            "kms_key_arn": self.kms_key_arn,
            "security_group_id": self.security_group_id,
            "storage_class_name": self.storage_class_name,
        })

    def _csi_driver(
        self,
        name: str,
        args: SharedFilesystemArgs,
        tag: Tagger,
        partition: pulumi.Output[str],
        region: pulumi.Output[str],
        account: pulumi.Output[str],
        file_system: aws.efs.FileSystem,
    ) -> None:
        """The controller's role (scoped to this file system) and the EKS add-on."""
        scope = ClusterScope(
            parent=self, prefix=name, cluster_name=args.cluster_name, tag=tag,
            partition=partition,
        )
        role = service_account_role(
            scope, "efs-csi", EFS_CSI_NAMESPACE, EFS_CSI_CONTROLLER_SERVICE_ACCOUNT
        )
        access_points = pulumi.Output.concat(
            "arn:", partition, ":elasticfilesystem:", region, ":", account, ":access-point/*"
        )
        policy = aws.iam.RolePolicy(
            f"{name}-efs-csi-policy",
            role=role.id,
            policy=pulumi.Output.all(file_system.arn, access_points).apply(
                lambda v: json.dumps(efs_csi_controller_policy(v[0], v[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        association = bind_service_account(
            scope, "efs-csi", args.cluster_name_output, EFS_CSI_NAMESPACE,
            EFS_CSI_CONTROLLER_SERVICE_ACCOUNT, role, [policy],
        )
        # The controller is a Deployment: EKS reports the add-on degraded until nodes can
        # run it, and the cluster's Kubernetes provider waits for the system node group.
        managed_addon(
            scope,
            versions.EFS_CSI_DRIVER,
            args.cluster_name_output,
            versions.ADDON_VERSIONS[args.kubernetes_version],
            depends_on=[association, args.k8s_provider],
        )
