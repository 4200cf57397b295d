"""What AWS returns, turned into plan records: the inputs the rules in `policies/rules/` read.

Pure functions of boto3 response dicts (no calls here): each names the rule inputs it fills
and leaves out what AWS cannot tell (a value left out reads as absent, which the rules treat
as the insecure default, as they do in a plan). A live record keeps the URN of the plan
record it was read for, so live and planned findings line up by URN; records of a
resource's configuration (bucket encryption, inline role policy...) get a URN derived from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mlplat.plan.model import ResourceRecord
from policies.rules import eks, iam, kms, rds, s3

#: The live resources read so far, as a (bucket, KMS key, ...) record and its companions.
LiveGroup = list[ResourceRecord]


def record(urn: str, type_token: str, name: str, inputs: dict[str, Any]) -> ResourceRecord:
    """A custom-resource record of the plan's shape (no parent, provider or dependencies:
    the rules that look across records find companions by the names in their inputs)."""
    return ResourceRecord(urn=urn, type=type_token, name=name, custom=True, parent=None,
                          provider=None, inputs=inputs, dependencies=[])


def companion_urn(owner: ResourceRecord, kind: str, key: str = "") -> str:
    return f"{owner.urn}$live:{kind}" + (f":{key}" if key else "")


def tag_dict(tags: Sequence[Mapping[str, Any]] | None, key: str = "Key",
             value: str = "Value") -> dict[str, str]:
    """AWS tag lists (`[{"Key": k, "Value": v}]`; KMS spells them TagKey/TagValue) as a map."""
    return {str(t[key]): str(t.get(value, "")) for t in tags or [] if key in t}


def _policy_text(document: Any) -> str | None:
    """Policies come back as JSON text (S3, KMS) or already decoded (IAM): one shape for
    the rules, which read either."""
    if document is None:
        return None
    return document if isinstance(document, str) else json.dumps(document, sort_keys=True)


# S3 --------------------------------------------------------------------------------------

def bucket_records(subject: ResourceRecord, bucket: str, reads: Mapping[str, Any]) -> LiveGroup:
    """A bucket and one record per configuration S3 returned for it.

    `reads` holds the boto3 responses by call (`None` where S3 answered "not configured"):
    tags (TagSet), encryption (ServerSideEncryptionConfiguration), public_access_block
    (PublicAccessBlockConfiguration), versioning (whole response), policy (Policy text),
    ownership (OwnershipControls), logging (whole response), lifecycle (Rules)."""
    group = [record(subject.urn, s3.BUCKET, subject.name,
                    {"bucket": bucket, "tags": tag_dict(reads.get("tags"))})]

    def add(kind: str, type_token: str, inputs: dict[str, Any]) -> None:
        group.append(record(companion_urn(subject, kind), type_token, f"{subject.name}-{kind}",
                            {"bucket": bucket, **inputs}))

    encryption = reads.get("encryption")
    if encryption is not None:
        add("encryption", s3.SSE, {"rules": [
            {"apply_server_side_encryption_by_default": {
                "sse_algorithm": rule.get("ApplyServerSideEncryptionByDefault", {})
                .get("SSEAlgorithm"),
                "kms_master_key_id": rule.get("ApplyServerSideEncryptionByDefault", {})
                .get("KMSMasterKeyID")},
             "bucket_key_enabled": bool(rule.get("BucketKeyEnabled"))}
            for rule in encryption.get("Rules", [])]})
    block = reads.get("public_access_block")
    if block is not None:
        add("public-access-block", s3.PUBLIC_ACCESS, {
            "block_public_acls": bool(block.get("BlockPublicAcls")),
            "block_public_policy": bool(block.get("BlockPublicPolicy")),
            "ignore_public_acls": bool(block.get("IgnorePublicAcls")),
            "restrict_public_buckets": bool(block.get("RestrictPublicBuckets"))})
    versioning = reads.get("versioning") or {}
    if versioning.get("Status"):  # never-versioned buckets return no Status at all
        add("versioning", s3.VERSIONING,
            {"versioning_configuration": {"status": versioning["Status"]}})
    if reads.get("policy") is not None:
        add("policy", s3.POLICY, {"policy": _policy_text(reads["policy"])})
    ownership = reads.get("ownership")
    if ownership is not None:
        modes = [rule.get("ObjectOwnership") for rule in ownership.get("Rules", [])]
        add("ownership", s3.OWNERSHIP, {"rule": {"object_ownership": modes[0] if modes else None}})
    target = ((reads.get("logging") or {}).get("LoggingEnabled") or {}).get("TargetBucket")
    if target:
        add("logging", s3.LOGGING, {"target_bucket": target})
    lifecycle = reads.get("lifecycle")
    if lifecycle is not None:
        add("lifecycle", s3.LIFECYCLE, {"rules": [
            {"status": rule.get("Status"),
             "abort_incomplete_multipart_upload": {
                 "days_after_initiation": rule["AbortIncompleteMultipartUpload"]
                 .get("DaysAfterInitiation")} if "AbortIncompleteMultipartUpload" in rule
             else None}
            for rule in lifecycle]})
    return group


# RDS -------------------------------------------------------------------------------------

def db_instance_records(subject: ResourceRecord, instance: Mapping[str, Any],
                        parameters: Mapping[str, Sequence[Mapping[str, Any]]]) -> LiveGroup:
    """An RDS instance (a DescribeDBInstances item) and its parameter groups (user-set
    parameters by group name). No `password` input: AWS never returns one, so the "password
    set in the program" half of MLP-RDS-003 is plan-only."""
    groups = [g.get("DBParameterGroupName") for g in instance.get("DBParameterGroups", [])]
    inputs: dict[str, Any] = {
        "identifier": instance.get("DBInstanceIdentifier"),
        "engine": instance.get("Engine"),
        "storage_encrypted": bool(instance.get("StorageEncrypted")),
        "publicly_accessible": bool(instance.get("PubliclyAccessible")),
        "manage_master_user_password": bool(instance.get("MasterUserSecret")),
        "iam_database_authentication_enabled":
            bool(instance.get("IAMDatabaseAuthenticationEnabled")),
        "backup_retention_period": instance.get("BackupRetentionPeriod"),
        "deletion_protection": bool(instance.get("DeletionProtection")),
        "tags": tag_dict(instance.get("TagList")),
    }
    if groups:
        inputs["parameter_group_name"] = groups[0]
    group = [record(subject.urn, rds.INSTANCE, subject.name, inputs)]
    for name in groups:
        group.append(record(
            companion_urn(subject, "parameter-group", str(name)), rds.PARAMETER_GROUP,
            str(name), {"name": name, "parameters": [
                {"name": p.get("ParameterName"), "value": p.get("ParameterValue")}
                for p in parameters.get(str(name), [])]}))
    return group


# EKS -------------------------------------------------------------------------------------

def cluster_records(subject: ResourceRecord, cluster: Mapping[str, Any]) -> LiveGroup:
    """An EKS cluster (DescribeCluster's `cluster`). Fields the response lacks stay absent:
    the rules read an absent endpointPublicAccess as EKS's default, public."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    vpc_config = {snake: vpc[wire] for wire, snake in (
        ("endpointPublicAccess", "endpoint_public_access"),
        ("endpointPrivateAccess", "endpoint_private_access"),
        ("publicAccessCidrs", "public_access_cidrs")) if wire in vpc}
    logged = sorted({kind for entry in (cluster.get("logging") or {}).get("clusterLogging", [])
                     if entry.get("enabled") for kind in entry.get("types", [])})
    inputs: dict[str, Any] = {
        "name": cluster.get("name"),
        "version": cluster.get("version"),
        "vpc_config": vpc_config,
        "enabled_cluster_log_types": logged,
        "encryption_config": [
            {"resources": list(c.get("resources", [])),
             "provider": {"key_arn": (c.get("provider") or {}).get("keyArn")}}
            for c in cluster.get("encryptionConfig") or []],
        "tags": dict(cluster.get("tags") or {}),
    }
    mode = (cluster.get("accessConfig") or {}).get("authenticationMode")
    if mode:
        inputs["access_config"] = {"authentication_mode": mode}
    return [record(subject.urn, eks.CLUSTER, subject.name, inputs)]


# KMS -------------------------------------------------------------------------------------

def key_records(subject: ResourceRecord, metadata: Mapping[str, Any], rotation: bool,
                policy: str | None, tags: Sequence[Mapping[str, Any]]) -> LiveGroup:
    """A KMS key: DescribeKey's KeyMetadata, GetKeyRotationStatus, the default key policy
    and ListResourceTags."""
    return [record(subject.urn, kms.KEY, subject.name, {
        "arn": metadata.get("Arn"),
        "customer_master_key_spec": metadata.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "enable_key_rotation": rotation,
        "policy": policy,
        "tags": tag_dict(tags, "TagKey", "TagValue"),
    })]


# IAM -------------------------------------------------------------------------------------

def role_records(subject: ResourceRecord, role: Mapping[str, Any],
                 inline: Mapping[str, Any], attached: Sequence[Mapping[str, Any]],
                 managed_documents: Mapping[str, Any]) -> LiveGroup:
    """An IAM role (GetRole's Role), its inline policies (documents by name), its attached
    policies (ListAttachedRolePolicies items) and the default-version documents of the
    customer-managed ones among them (by ARN; AWS-managed policies are AWS's text)."""
    name = str(role.get("RoleName"))
    group = [record(subject.urn, iam.ROLE, subject.name, {
        "name": name,
        "assume_role_policy": _policy_text(role.get("AssumeRolePolicyDocument")),
        "tags": tag_dict(role.get("Tags")),
    })]
    for policy_name, document in sorted(inline.items()):
        group.append(record(companion_urn(subject, "inline-policy", policy_name),
                            iam.ROLE_POLICY, policy_name,
                            {"role": name, "name": policy_name,
                             "policy": _policy_text(document)}))
    for item in attached:
        arn = str(item.get("PolicyArn"))
        group.append(record(companion_urn(subject, "attachment", arn), iam.ATTACHMENT,
                            str(item.get("PolicyName")), {"role": name, "policy_arn": arn}))
        if arn in managed_documents:
            group.append(record(companion_urn(subject, "managed-policy", arn), iam.POLICY,
                                str(item.get("PolicyName")),
                                {"arn": arn, "policy": _policy_text(managed_documents[arn])}))
    return group
