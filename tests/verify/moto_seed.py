"""A real moto server on 127.0.0.1 and a 'deployment' of a plan into it (test support).

`deploy` creates, with moto's mutating APIs, what `pulumi up` of the plan would leave in an
account: buckets under the physical names the plan's mocks gave them, with the plan's
encryption, public access block, versioning, ownership, policy, logging and lifecycle; the
RDS instance and its parameter group; the EKS cluster; every KMS key with its aliases;
every IAM role with its inline and attached policies; all with the plan's tags. Tests then
break chosen resources the way drift happens (someone edits the console) or pass overrides
for settings AWS cannot change in place.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from mlplat.plan.model import Plan, ResourceRecord
from policies.rules import eks, iam, kms, rds, s3
from policies.rules._helpers import related

REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """`moto_server` as a child process on 127.0.0.1 (AWS-managed IAM policies loaded, so
    AdministratorAccess can be attached); yields its URL; stopped by PID."""
    port = _free_port()
    env = {**os.environ, **CREDENTIALS, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # up to ~20 s on a loaded 2-core box; typically ~1 s
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}")
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not answer within 20 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def reset(url: str) -> None:
    """Empty every moto backend (moto's own API; no AWS call)."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"),
                           timeout=10).close()


def clients(url: str) -> dict[str, Any]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    return {name: session.client(name, endpoint_url=url) for name in ("s3", "rds", "eks",
                                                                     "kms", "iam")}


def _tags(record: ResourceRecord, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: str(v)} for k, v in sorted((record.inputs.get("tags") or {}).items())]


def _companion(plan: Plan, owner: ResourceRecord, type_token: str,
               key: str = "bucket") -> ResourceRecord | None:
    found = related(plan, owner, type_token, key)
    return found[0] if found else None


def bucket_name(plan: Plan, bucket: ResourceRecord) -> str:
    """The physical name the plan's mocks gave a prefix-named bucket (its companions name it)."""
    for type_token in (s3.SSE, s3.VERSIONING, s3.PUBLIC_ACCESS, s3.POLICY):
        for other in related(plan, bucket, type_token, "bucket"):
            return str(other.inputs["bucket"])
    return str(bucket.inputs.get("bucket") or f"{bucket.inputs['bucket_prefix']}0seed")


def _role_policies(plan: Plan, role: ResourceRecord) -> list[ResourceRecord]:
    """Inline policies the plan gives `role`: their `role` input is its logical name or the
    mocks' physical name (`<logical name>-<hex>`). Stricter than `related`, which a shared
    name prefix would fool."""
    return [p for p in plan.of_type(iam.ROLE_POLICY)
            if p.inputs.get("role") == role.name
            or str(p.inputs.get("role", "")).startswith(f"{role.name}-")]


def role_name(plan: Plan, role: ResourceRecord) -> str:
    """A name AWS (or Pulumi's autonaming) could have given the role."""
    if role.inputs.get("name"):
        return str(role.inputs["name"])
    if role.inputs.get("name_prefix"):
        return f"{role.inputs['name_prefix']}0seed"[:64]
    for policy in _role_policies(plan, role):
        if policy.inputs["role"] != role.name:
            return str(policy.inputs["role"])
    return f"{role.name}-0seed"[:64]


def deploy(plan: Plan, aws: dict[str, Any], *, rds_overrides: dict[str, Any] | None = None,
           eks_overrides: dict[str, Any] | None = None, skip: frozenset[str] = frozenset()
           ) -> dict[str, str]:
    """Create the plan's buckets, database, cluster, keys and roles; returns physical names
    by logical name. `skip`: logical names left undeployed."""
    names: dict[str, str] = {}
    buckets = [b for b in plan.of_type(s3.BUCKET) if b.name not in skip]
    for bucket in buckets:
        names[bucket.name] = bucket_name(plan, bucket)
        aws["s3"].create_bucket(Bucket=names[bucket.name], CreateBucketConfiguration={
            "LocationConstraint": REGION})
        aws["s3"].put_bucket_tagging(Bucket=names[bucket.name], Tagging={"TagSet": _tags(bucket)})
    for bucket in buckets:  # configuration after creation: logging needs its target to exist
        _configure_bucket(plan, bucket, names[bucket.name], aws["s3"])
    for bucket in buckets:
        _configure_logging(plan, bucket, names[bucket.name], aws["s3"])
    for bucket in buckets:
        policy = _companion(plan, bucket, s3.POLICY)
        if policy is not None:
            aws["s3"].put_bucket_policy(Bucket=names[bucket.name], Policy=policy.inputs["policy"])
    for db in plan.of_type(rds.INSTANCE):
        names[db.name] = _deploy_db(plan, db, aws["rds"], rds_overrides or {})
    for cluster in plan.of_type(eks.CLUSTER):
        names[cluster.name] = deploy_cluster(cluster, aws["eks"], eks_overrides or {})
    for key in plan.of_type(kms.KEY):
        if key.name not in skip:
            names[key.name] = _deploy_key(plan, key, aws["kms"])
    for role in plan.of_type(iam.ROLE):
        if role.name not in skip:
            names[role.name] = _deploy_role(plan, role, aws["iam"])
    return names


def _configure_bucket(plan: Plan, bucket: ResourceRecord, name: str, client: Any) -> None:
    sse = _companion(plan, bucket, s3.SSE)
    if sse is not None:
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {
                k: v for k, v in (("SSEAlgorithm", r["apply_server_side_encryption_by_default"]
                                   ["sse_algorithm"]),
                                  ("KMSMasterKeyID", r["apply_server_side_encryption_by_default"]
                                   .get("kms_master_key_id"))) if v},
             "BucketKeyEnabled": bool(r.get("bucket_key_enabled"))} for r in sse.inputs["rules"]]})
    block = _companion(plan, bucket, s3.PUBLIC_ACCESS)
    if block is not None:
        client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            wire: bool(block.inputs.get(snake)) for wire, snake in (
                ("BlockPublicAcls", "block_public_acls"),
                ("BlockPublicPolicy", "block_public_policy"),
                ("IgnorePublicAcls", "ignore_public_acls"),
                ("RestrictPublicBuckets", "restrict_public_buckets"))})
    versioning = _companion(plan, bucket, s3.VERSIONING)
    if versioning is not None:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={
            "Status": versioning.inputs["versioning_configuration"]["status"]})
    ownership = _companion(plan, bucket, s3.OWNERSHIP)
    if ownership is not None:
        client.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [
            {"ObjectOwnership": ownership.inputs["rule"]["object_ownership"]}]})
    lifecycle = _companion(plan, bucket, s3.LIFECYCLE)
    if lifecycle is not None:
        rules = [{"ID": r["id"], "Status": r["status"], "Filter": {},
                  **({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": r[
                      "abort_incomplete_multipart_upload"]["days_after_initiation"]}}
                     if "abort_incomplete_multipart_upload" in r else
                     {"NoncurrentVersionExpiration": {"NoncurrentDays": 90}})}
                 for r in lifecycle.inputs["rules"]]
        client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
            "Rules": rules})


def _configure_logging(plan: Plan, bucket: ResourceRecord, name: str, client: Any) -> None:
    """Server access logging. moto checks that the target admits log delivery and crashes
    (HTTP 500) on any statement of the target's policy whose Principal is the string '*',
    which the plan's TLS-only statement is: so the target gets a bare log-delivery policy
    here and its real policy afterwards (`deploy`)."""
    logging = _companion(plan, bucket, s3.LOGGING)
    if logging is None:
        return
    target = logging.inputs["target_bucket"]
    client.put_bucket_policy(Bucket=target, Policy=document({
        "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{target}/*"}))
    client.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": target, "TargetPrefix": logging.inputs.get("target_prefix", "")}})


def _deploy_db(plan: Plan, db: ResourceRecord, client: Any, overrides: dict[str, Any]) -> str:
    group_name = db.inputs["parameter_group_name"]
    groups = [g for g in plan.of_type(rds.PARAMETER_GROUP)
              if g.urn in db.dependencies or g.inputs.get("name") == group_name]
    client.create_db_parameter_group(DBParameterGroupName=group_name,
                                     DBParameterGroupFamily=groups[0].inputs["family"],
                                     Description=groups[0].inputs["description"])
    client.modify_db_parameter_group(DBParameterGroupName=group_name, Parameters=[
        {"ParameterName": p["name"], "ParameterValue": p["value"], "ApplyMethod": "immediate"}
        for p in groups[0].inputs["parameters"]])
    i = db.inputs
    params: dict[str, Any] = {
        "DBInstanceIdentifier": i["identifier"], "DBInstanceClass": i["instance_class"],
        "Engine": i["engine"], "AllocatedStorage": i["allocated_storage"],
        "MasterUsername": i["username"], "ManageMasterUserPassword": True,
        "StorageEncrypted": i["storage_encrypted"], "KmsKeyId": i["kms_key_id"],
        "PubliclyAccessible": i["publicly_accessible"],
        "EnableIAMDatabaseAuthentication": i["iam_database_authentication_enabled"],
        "BackupRetentionPeriod": i["backup_retention_period"],
        "DeletionProtection": i["deletion_protection"], "DBParameterGroupName": group_name,
        "Tags": _tags(db)}
    params.update(overrides)
    client.create_db_instance(**{k: v for k, v in params.items() if v is not None})
    return str(i["identifier"])


def deploy_cluster(cluster: ResourceRecord, client: Any, overrides: dict[str, Any]) -> str:
    i = cluster.inputs
    vpc = i["vpc_config"]
    params: dict[str, Any] = {
        "name": i["name"], "roleArn": i["role_arn"], "version": i["version"],
        "resourcesVpcConfig": {"subnetIds": vpc["subnet_ids"],
                               "endpointPublicAccess": vpc["endpoint_public_access"],
                               "endpointPrivateAccess": vpc["endpoint_private_access"]},
        "logging": {"clusterLogging": [{"types": i["enabled_cluster_log_types"],
                                        "enabled": True}]},
        "encryptionConfig": [{"resources": i["encryption_config"]["resources"],
                              "provider": {"keyArn": i["encryption_config"]["provider"]
                                           ["key_arn"]}}],
        "tags": i["tags"]}
    params.update(overrides)
    client.create_cluster(**{k: v for k, v in params.items() if v is not None})
    return str(i["name"])


def _deploy_key(plan: Plan, key: ResourceRecord, client: Any) -> str:
    created = client.create_key(Description=key.inputs.get("description", ""),
                                Policy=key.inputs["policy"],
                                Tags=_tags(key, "TagKey", "TagValue"))["KeyMetadata"]
    if key.inputs.get("enable_key_rotation"):
        client.enable_key_rotation(KeyId=created["KeyId"])
    for alias in related(plan, key, "aws:kms/alias:Alias", "target_key_id"):
        client.create_alias(AliasName=alias.inputs["name"], TargetKeyId=created["KeyId"])
    return str(created["KeyId"])


def _deploy_role(plan: Plan, role: ResourceRecord, client: Any) -> str:
    name = role_name(plan, role)
    client.create_role(RoleName=name, AssumeRolePolicyDocument=role.inputs["assume_role_policy"],
                       Tags=_tags(role))
    for policy in _role_policies(plan, role):
        client.put_role_policy(RoleName=name, PolicyName=policy.name,
                               PolicyDocument=policy.inputs["policy"])
    for attachment in [a for a in plan.of_type(iam.ATTACHMENT)
                       if a.inputs.get("role") == role.name]:
        client.attach_role_policy(RoleName=name, PolicyArn=attachment.inputs["policy_arn"])
    return name


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
