"""Plan-level tests of the cluster's storage: the default StorageClass `gp3-encrypted`
(components/aws/block_storage.py) and the shared EFS file system with StorageClass
`efs-shared` (components/aws/shared_filesystem.py). Every security setting is read from
plans the real offline engine produced: the demo plan (explicit settings) and small dev and
prod environments (defaults)."""

from __future__ import annotations

import json
from typing import Any

import pulumi.runtime
import pytest
from data_store_plans import plan_of

from components import versions
from mlplat.plan import Plan, ResourceRecord
from mlplat.plan.mocks import DeterministicMocks, digest

pytestmark = pytest.mark.unit

BLOCK = "mlplat:aws/block_storage:BlockStorage"
SHARED = "mlplat:aws/shared_filesystem:SharedFilesystem"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
STORAGE_CLASS_PATCH = "kubernetes:storage.k8s.io/v1:StorageClassPatch"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
BACKUP = "aws:efs/backupPolicy:BackupPolicy"
FS_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ADDON = "aws:eks/addon:Addon"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


@pytest.fixture(scope="module")
def dev_plan() -> Plan:
    """A dev environment with every storage default (`sharedFilesystem: {}`)."""
    return plan_of("dev", sharedFilesystem={})


@pytest.fixture(scope="module")
def prod_plan() -> Plan:
    return plan_of("prod", sharedFilesystem={})


def under(plan: Plan, component: str, type_token: str) -> list[ResourceRecord]:
    return [r for r in plan.children(plan.one(component).urn) if r.type == type_token]


def storage_class(plan: Plan, name: str) -> dict[str, Any]:
    (record,) = [r for r in plan.of_type(STORAGE_CLASS) if r.inputs["metadata"]["name"] == name]
    return record.inputs


def mock_outputs(record: ResourceRecord) -> dict[str, Any]:
    """What the offline mocks answered for a recorded resource (id, ARN, ...): consumers
    must receive exactly these values, so tests compare against them."""
    args = pulumi.runtime.MockResourceArgs(record.type, record.name, dict(record.inputs))
    resource_id, outputs = DeterministicMocks("eu-west-1").new_resource(args)
    return {**outputs, "id": resource_id}


def key_arn(plan: Plan, component: str) -> str:
    (key,) = under(plan, component, KEY)
    return str(mock_outputs(key)["arn"])


def file_system(plan: Plan) -> dict[str, Any]:
    (fs,) = under(plan, SHARED, FILE_SYSTEM)
    return mock_outputs(fs)


def statements(document: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


# ------------------------------------------------------------------ gp3-encrypted


def test_gp3_encrypted_is_an_encrypted_gp3_class_with_the_environment_key(demo_plan: Plan) -> None:
    sc = storage_class(demo_plan, "gp3-encrypted")
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": key_arn(demo_plan, BLOCK),
        "csi.storage.k8s.io/fstype": "ext4",
    }
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True


def test_gp3_encrypted_is_the_only_default_class(demo_plan: Plan) -> None:
    defaults = [r.inputs["metadata"]["name"] for r in demo_plan.of_type(STORAGE_CLASS)
                if r.inputs["metadata"].get("annotations", {}).get(DEFAULT_ANNOTATION) == "true"]
    assert defaults == ["gp3-encrypted"]
    (patch,) = demo_plan.of_type(STORAGE_CLASS_PATCH)
    assert patch.inputs["metadata"]["name"] == "gp2"
    assert patch.inputs["metadata"]["annotations"][DEFAULT_ANNOTATION] == "false"
    # The new default appears only once gp2 is demoted and the driver may use the key.
    (sc,) = under(demo_plan, BLOCK, STORAGE_CLASS)
    assert patch.urn in sc.dependencies
    (key_use,) = under(demo_plan, BLOCK, ROLE_POLICY)
    assert key_use.urn in sc.dependencies


def test_volume_key_rotates_and_works_only_through_ec2(demo_plan: Plan) -> None:
    (key,) = under(demo_plan, BLOCK, KEY)
    assert key.inputs["enable_key_rotation"] is True
    deny = statements(key.inputs["policy"])["DenyUseOutsideTheService"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {
        "StringNotEquals": {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}}
    assert {"kms:Decrypt", "kms:CreateGrant"} <= set(deny["Action"])


def test_ebs_csi_role_may_use_only_the_volume_key(demo_plan: Plan) -> None:
    (key_use,) = under(demo_plan, BLOCK, ROLE_POLICY)
    ebs_role = demo_plan.one(ROLE, "vision-staging-cluster-ebs-csi-role")
    assert key_use.inputs["role"] == ebs_role.name  # the mocks name a role after its resource
    found = statements(key_use.inputs["policy"])
    assert set(found) == {"GrantsForEbsOnly", "UseVolumeKey"}
    for statement in found.values():
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == key_arn(demo_plan, BLOCK)
    grants = found["GrantsForEbsOnly"]
    assert "kms:CreateGrant" in grants["Action"]
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert set(found["UseVolumeKey"]["Action"]) == {
        "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
        "kms:DescribeKey"}


def test_reclaim_policy_is_retain_where_data_is_protected(
    demo_plan: Plan, dev_plan: Plan, prod_plan: Plan
) -> None:
    assert storage_class(demo_plan, "gp3-encrypted")["reclaimPolicy"] == "Retain"  # explicit
    assert storage_class(dev_plan, "gp3-encrypted")["reclaimPolicy"] == "Delete"
    assert storage_class(prod_plan, "gp3-encrypted")["reclaimPolicy"] == "Retain"
    assert storage_class(prod_plan, "efs-shared")["reclaimPolicy"] == "Retain"


# ------------------------------------------------------------------ shared file system


def test_file_system_is_encrypted_with_its_own_efs_only_key(demo_plan: Plan) -> None:
    (fs,) = under(demo_plan, SHARED, FILE_SYSTEM)
    assert fs.inputs["encrypted"] is True
    assert fs.inputs["kms_key_id"] == key_arn(demo_plan, SHARED)
    assert key_arn(demo_plan, SHARED) != key_arn(demo_plan, BLOCK)
    (key,) = under(demo_plan, SHARED, KEY)
    assert key.inputs["enable_key_rotation"] is True
    deny = statements(key.inputs["policy"])["DenyUseOutsideTheService"]
    assert deny["Condition"] == {
        "StringNotEquals": {"kms:ViaService": "elasticfilesystem.eu-west-1.amazonaws.com"}}


def test_nfs_is_admitted_only_from_the_node_security_group(demo_plan: Plan) -> None:
    (group,) = under(demo_plan, SHARED, SECURITY_GROUP)
    group_id = "sg-" + digest(SECURITY_GROUP, group.name)
    node_group = "sg-" + digest(SECURITY_GROUP, "vision-staging-cluster-node-sg")
    rules = [r.inputs for r in demo_plan.of_type(INGRESS)
             if r.inputs["security_group_id"] == group_id]
    assert len(rules) == 1
    (rule,) = rules
    assert rule["referenced_security_group_id"] == node_group
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 2049, 2049)
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    assert not [r for r in demo_plan.of_type(EGRESS) if r.inputs["security_group_id"] == group_id]
    # Every mount target sits behind this group and nothing else.
    for target in under(demo_plan, SHARED, MOUNT_TARGET):
        assert target.inputs["security_groups"] == [group_id]


def test_one_mount_target_in_every_private_subnet(demo_plan: Plan) -> None:
    private = {"subnet-" + digest(SUBNET, r.name) for r in demo_plan.of_type(SUBNET)
               if "-private-" in r.name}
    assert len(private) == 3
    targets = under(demo_plan, SHARED, MOUNT_TARGET)
    assert sorted(t.inputs["subnet_id"] for t in targets) == sorted(private)


def test_file_system_policy_requires_tls_and_mount_targets_and_refuses_root(
    demo_plan: Plan,
) -> None:
    (policy,) = under(demo_plan, SHARED, FS_POLICY)
    found = statements(policy.inputs["policy"])
    assert set(found) == {"MountThroughMountTargets", "DenyWithoutTls"}
    deny = found["DenyWithoutTls"]
    assert (deny["Effect"], deny["Action"]) == ("Deny", "*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = found["MountThroughMountTargets"]
    assert set(allow["Action"]) == {"elasticfilesystem:ClientMount",
                                    "elasticfilesystem:ClientWrite"}
    assert allow["Condition"] == {
        "Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    fs_arn = file_system(demo_plan)["arn"]
    assert allow["Resource"] == deny["Resource"] == fs_arn


def test_efs_csi_controller_role_is_scoped_to_the_file_system(demo_plan: Plan) -> None:
    (role,) = under(demo_plan, SHARED, ROLE)
    trust = json.loads(role.inputs["assume_role_policy"])["Statement"][0]
    assert trust["Condition"]["StringEquals"] == {
        "aws:RequestTag/eks-cluster-name": "vision-staging",
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "efs-csi-controller-sa",
    }
    (policy,) = under(demo_plan, SHARED, ROLE_POLICY)
    fs_arn = file_system(demo_plan)["arn"]
    access_points = "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/*"
    found = statements(policy.inputs["policy"])
    for sid, statement in found.items():
        resources = set(listed(statement["Resource"]))
        if sid == "DescribeZones":
            assert statement["Action"] == "ec2:DescribeAvailabilityZones"
            continue
        assert resources <= {fs_arn, access_points}, sid
        assert all(a.startswith("elasticfilesystem:") for a in listed(statement["Action"]))
    assert found["CreateTaggedAccessPoints"]["Condition"] == {
        "StringLike": {"aws:RequestTag/efs.csi.aws.com/cluster": "true"}}
    assert listed(found["DeleteOwnAccessPoints"]["Resource"]) == [access_points]
    assert found["DeleteOwnAccessPoints"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/efs.csi.aws.com/cluster": "true"}}
    (association,) = under(demo_plan, SHARED, POD_IDENTITY)
    assert association.inputs["service_account"] == "efs-csi-controller-sa"
    assert association.inputs["role_arn"].endswith(f"role/{role.name}")
    assert policy.urn in association.dependencies


def test_efs_csi_driver_is_the_pinned_add_on(demo_plan: Plan) -> None:
    (addon,) = under(demo_plan, SHARED, ADDON)
    assert addon.inputs["addon_name"] == "aws-efs-csi-driver"
    assert addon.inputs["addon_version"] == versions.ADDON_VERSIONS["1.33"]["aws-efs-csi-driver"]
    (association,) = under(demo_plan, SHARED, POD_IDENTITY)
    assert association.urn in addon.dependencies


def test_efs_shared_provisions_an_access_point_per_claim(demo_plan: Plan) -> None:
    sc = storage_class(demo_plan, "efs-shared")
    assert sc["provisioner"] == "efs.csi.aws.com"
    params = sc["parameters"]
    assert params["provisioningMode"] == "efs-ap"
    assert params["fileSystemId"] == file_system(demo_plan)["id"]
    assert params["directoryPerms"] == "700"
    assert (params["gidRangeStart"], params["gidRangeEnd"]) == ("50000", "7000000")
    assert params["subPathPattern"] == "${.PVC.namespace}/${.PVC.name}"
    assert DEFAULT_ANNOTATION not in sc["metadata"].get("annotations", {})


def test_backup_and_lifecycle_follow_config_and_tier(
    demo_plan: Plan, dev_plan: Plan, prod_plan: Plan
) -> None:
    def backup(plan: Plan) -> str:
        (record,) = under(plan, SHARED, BACKUP)
        return str(record.inputs["backup_policy"]["status"])

    assert backup(demo_plan) == "ENABLED"  # explicit in staging
    assert backup(dev_plan) == "DISABLED"
    assert backup(prod_plan) == "ENABLED"
    (fs,) = under(dev_plan, SHARED, FILE_SYSTEM)
    assert fs.inputs["throughput_mode"] == "elastic"
    assert fs.inputs["lifecycle_policies"] == [
        {"transition_to_ia": "AFTER_30_DAYS"},
        {"transition_to_primary_storage_class": "AFTER_1_ACCESS"},
    ]


def test_no_shared_file_system_unless_configured() -> None:
    plan = plan_of("dev")
    assert plan.of_type(SHARED) == [] and plan.of_type(FILE_SYSTEM) == []
    assert [r.inputs["metadata"]["name"] for r in plan.of_type(STORAGE_CLASS)] == [
        "gp3-encrypted"]
    assert "aws-efs-csi-driver" not in {a.inputs["addon_name"] for a in plan.of_type(ADDON)}
