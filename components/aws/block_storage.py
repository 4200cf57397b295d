"""Block storage: the cluster's default StorageClass `gp3-encrypted` for EBS volumes,
encrypted with a customer-managed key of the environment.

What gets created (children of one `mlplat:aws/block_storage:BlockStorage` component):

* A rotating KMS key (alias `alias/mlplat/<env>/ebs-volumes`) whose material can be used
  only through EC2 (`kms:ViaService`), so a snapshot shared or copied out of EC2 cannot be
  decrypted with it directly.
* An inline policy on the EBS CSI driver's Pod Identity role (the Cluster creates the role
  with AmazonEBSCSIDriverPolicy, which covers no customer-managed key): grants for AWS
  resources only, and the crypto actions, on this one key.
* StorageClass `gp3-encrypted`: provisioner ebs.csi.aws.com, gp3, encrypted with the key,
  WaitForFirstConsumer (the volume is created in the zone of the node the pod lands on),
  expansion allowed, reclaim policy from config (Retain where data is protected), marked as
  the cluster's default.
* A StorageClassPatch demoting EKS's own `gp2` class. EKS creates `gp2` (in-tree
  provisioner name, unencrypted unless the account default says otherwise); on clusters
  created before Kubernetes 1.30 it carries the default annotation, and two defaults make
  the API pick the newest one. The patch sets the annotation to "false" on every cluster
  (harmless where it is already absent) and takes ownership of the field with
  `pulumi.com/patchForce`, since EKS's field manager applied it first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components._lib.kms import service_only_key
from components._lib.log_group import account_context
from components._lib.naming import Tagger
from components._lib.policies import ebs_csi_volume_key_policy
from mlplat.config import ReclaimPolicy

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/block_storage:BlockStorage"

STORAGE_CLASS_NAME = "gp3-encrypted"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: The StorageClass EKS creates itself.
EKS_GP2_CLASS = "gp2"


@dataclass(frozen=True)
class BlockStorageArgs:
    """Inputs of BlockStorage."""

    environment: str
    """`<team>-<env>`: names the key alias."""
    ebs_csi_role_name: pulumi.Input[str]
    """The EBS CSI driver's Pod Identity role (Cluster.ebs_csi_role_name)."""
    k8s_provider: k8s.Provider
    """Provider of the target cluster."""
    reclaim_policy: ReclaimPolicy
    """Effective reclaim policy (config: `blockStorage.reclaimPolicy`, else by protectData)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the key and its alias (and, through the StorageClass, on every volume)."""


def storage_class_parameters(key_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """Parameters of `gp3-encrypted` (strings, as the StorageClass API requires)."""
    return {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": key_arn,
        "csi.storage.k8s.io/fstype": "ext4",
    }


class BlockStorage(pulumi.ComponentResource):
    """The default StorageClass of the cluster and its KMS key."""

    kms_key_arn: pulumi.Output[str]
    storage_class_name: str

    def __init__(
        self, name: str, args: BlockStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        tag = Tagger(args.tags, name)
        child = pulumi.ResourceOptions(parent=self)
        where = account_context(pulumi.InvokeOutputOptions(parent=self))
        key = service_only_key(
            resource_name=f"{name}-key",
            description=f"Encrypts the EBS volumes of {args.environment}",
            service="ec2",
            where=where,
            alias_name=f"alias/mlplat/{args.environment}/ebs-volumes",
            tag=tag,
            opts=child,
        )
        key_use = aws.iam.RolePolicy(
            f"{name}-ebs-csi-key-policy",
            role=args.ebs_csi_role_name,
            policy=key.arn.apply(lambda arn: json.dumps(ebs_csi_volume_key_policy(arn))),
            opts=child,
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        demoted = k8s.storage.v1.StorageClassPatch(
            f"{name}-gp2-not-default",
            metadata={
                "name": EKS_GP2_CLASS,
                "annotations": {DEFAULT_CLASS_ANNOTATION: "false", "pulumi.com/patchForce": "true"},
            },
            opts=k8s_opts,
        )
        k8s.storage.v1.StorageClass(
            f"{name}-gp3-encrypted",
            metadata={
                "name": STORAGE_CLASS_NAME,
                "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
            },
            provisioner=EBS_CSI_PROVISIONER,
            parameters=storage_class_parameters(key.arn),
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy=args.reclaim_policy.value,
            # Volumes created before the driver may use the key would fail to provision;
            # with only one default at a time, claims never land on gp2 meanwhile.
            opts=pulumi.ResourceOptions.merge(
                k8s_opts, pulumi.ResourceOptions(depends_on=[key_use, demoted])
            ),
        )
        self.kms_key_arn = key.arn
        self.storage_class_name = STORAGE_CLASS_NAME
        self.register_outputs(
            {"kms_key_arn": self.kms_key_arn, "storage_class_name": self.storage_class_name}
        )
