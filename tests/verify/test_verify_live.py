"""`mlplat verify` against a real moto server on 127.0.0.1: every seeded misconfiguration is
reported under the rule that covers it, and nothing else; verify only ever reads. (A
deployment as planned shows no drift: tests/verify/test_verify_cli.py.)

The plan is the committed demo snapshot (plans/demo.json), so no Pulumi program
runs here; moto_seed.deploy builds what `pulumi up` of it would leave in an account.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto_seed import REGION, clients, deploy, deploy_cluster, document, reset

from mlplat.audit.engine import load_plan_file, plan_from_json
from mlplat.core.paths import REPO_ROOT
from mlplat.plan.model import Plan
from mlplat.verify.aws import AwsReader, MutatingCallError
from mlplat.verify.coverage import LIVE_RULE_IDS, READ_CALLS
from mlplat.verify.engine import VerifyReport, verify

pytestmark = pytest.mark.live

DEMO_PLAN = REPO_ROOT / "plans" / "demo.json"


def demo_plan() -> Plan:
    return load_plan_file(DEMO_PLAN)


def prod_database_plan() -> Plan:
    """The demo plan with its database tagged prod and protected, as a prod stack plans it:
    MLP-RDS-006 (deletion protection in prod) then has something to hold live."""
    data = json.loads(Path(DEMO_PLAN).read_text(encoding="utf-8"))
    for item in data["resources"]:
        if item["type"] == "aws:rds/instance:Instance":
            item["inputs"]["tags"]["env"] = "prod"
            item["inputs"]["deletion_protection"] = True
    return plan_from_json(copy.deepcopy(data), "prod-database variant of demo.json")


def session() -> Any:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name=REGION)


def run(plan: Plan, url: str, calls: list[str] | None = None) -> VerifyReport:
    live = session()
    if calls is not None:
        live.events.register("before-call", lambda model, **_: calls.append(
            f"{model.service_model.endpoint_prefix}:{model.name}"))
    return verify(plan, AwsReader(live, REGION, url), REGION)


def drift(report: VerifyReport) -> set[tuple[str, str]]:
    return {(d.finding.rule_id, d.planned.name) for d in report.drift}


P = "vision-staging-"
EXPECTED_DRIFT = {
    # The artifacts bucket with every setting removed by hand.
    *((rule, f"{P}objects-artifacts") for rule in (
        "MLP-S3-001", "MLP-S3-003", "MLP-S3-004", "MLP-S3-005", "MLP-S3-006", "MLP-S3-007",
        "MLP-S3-008", "MLP-S3-009", "MLP-S3-010", "MLP-S3-011")),
    # Datasets: SSE-KMS without Bucket Keys; a public access block with every flag off.
    *((rule, f"{P}objects-datasets") for rule in (
        "MLP-S3-002", "MLP-S3-003", "MLP-S3-004", "MLP-S3-005", "MLP-S3-006")),
    # The access-log bucket: one flag off (each flag is read into its own input).
    ("MLP-S3-005", f"{P}objects-access-logs"),
    # The database recreated public, unencrypted, with a password of its own, no IAM auth,
    # a day of backups, no deletion protection (in prod) and the default parameter group.
    *((rule, f"{P}metadata-db") for rule in (
        "MLP-RDS-001", "MLP-RDS-002", "MLP-RDS-003", "MLP-RDS-004", "MLP-RDS-005",
        "MLP-RDS-006", "MLP-RDS-007")),
    # The cluster: public endpoint open to the internet, no private access, no secrets
    # encryption, no control-plane logs, an unsupported version.
    *((rule, f"{P}cluster-eks") for rule in (
        "MLP-EKS-002", "MLP-EKS-003", "MLP-EKS-004", "MLP-EKS-005", "MLP-EKS-007")),
    ("MLP-KMS-001", f"{P}objects-key"),          # rotation turned off
    ("MLP-KMS-002", f"{P}alarms-key"),           # key policy open to Principal '*'
    ("MLP-TAG-001", f"{P}block-storage-key"),    # required tags removed
    ("MLP-IAM-001", f"{P}cluster-cluster-role"),  # inline '*' on '*'
    ("MLP-IAM-002", f"{P}cluster-ebs-csi-role"),  # attached customer policy: PassRole on '*'
    ("MLP-IAM-003", f"{P}cluster-node-role"),    # inline iam:PutRolePolicy
    ("MLP-IAM-004", f"{P}cluster-vpc-cni-role"),  # trust policy open to every principal
    ("MLP-IAM-005", f"{P}gpu-node-role"),        # AdministratorAccess attached
    ("MLP-VFY-001", f"{P}shared-fs-efs-csi-role"),  # never deployed
}


STRAY_BUCKET = f"{P}scratch-0seed"


def misconfigure(aws: dict[str, Any], names: dict[str, str]) -> str:
    """Drift as it happens: settings changed or removed after `pulumi up`, resources made by
    hand with the stack's tag. Returns the ID of the stray KMS key."""
    s3, kms, iam = aws["s3"], aws["kms"], aws["iam"]
    artifacts = names[f"{P}objects-artifacts"]
    s3.delete_bucket_encryption(Bucket=artifacts)
    s3.delete_public_access_block(Bucket=artifacts)
    s3.delete_bucket_policy(Bucket=artifacts)
    s3.put_bucket_versioning(Bucket=artifacts, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_ownership_controls(Bucket=artifacts)
    s3.put_bucket_logging(Bucket=artifacts, BucketLoggingStatus={})
    s3.delete_bucket_lifecycle(Bucket=artifacts)
    datasets = names[f"{P}objects-datasets"]
    s3.put_bucket_encryption(Bucket=datasets, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
         "BucketKeyEnabled": False}]})
    s3.put_public_access_block(Bucket=datasets, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "BlockPublicPolicy": False, "IgnorePublicAcls": False,
        "RestrictPublicBuckets": False})
    s3.put_public_access_block(Bucket=names[f"{P}objects-access-logs"],
                               PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": False,
        "RestrictPublicBuckets": True})
    kms.disable_key_rotation(KeyId=names[f"{P}objects-key"])
    kms.put_key_policy(KeyId=names[f"{P}alarms-key"], PolicyName="default", Policy=document(
        {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*",
         "Resource": "*"}))
    kms.untag_resource(KeyId=names[f"{P}block-storage-key"],
                       TagKeys=["team", "env", "cost-center", "managed-by"])
    iam.put_role_policy(RoleName=names[f"{P}cluster-cluster-role"], PolicyName="debug",
                        PolicyDocument=document({"Effect": "Allow", "Action": "*",
                                                 "Resource": "*"}))
    arn = iam.create_policy(PolicyName="launch-anything", PolicyDocument=document(
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=names[f"{P}cluster-ebs-csi-role"], PolicyArn=arn)
    iam.put_role_policy(RoleName=names[f"{P}cluster-node-role"], PolicyName="self-service",
                        PolicyDocument=document({"Effect": "Allow",
                                                 "Action": "iam:PutRolePolicy",
                                                 "Resource": "*"}))
    iam.update_assume_role_policy(RoleName=names[f"{P}cluster-vpc-cni-role"],
                                  PolicyDocument=document({"Effect": "Allow",
                                                           "Principal": {"AWS": "*"},
                                                           "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName=names[f"{P}gpu-node-role"],
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    stack_tag = [{"Key": "mlplat-stack", "Value": "demo"}]
    s3.create_bucket(Bucket=STRAY_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=STRAY_BUCKET, Tagging={"TagSet": stack_tag})
    return str(kms.create_key(Tags=[{"TagKey": "mlplat-stack", "TagValue": "demo"}])
               ["KeyMetadata"]["KeyId"])


def seed_misconfigured(url: str, plan: Plan) -> str:
    reset(url)
    aws = clients(url)
    database = {"StorageEncrypted": False, "KmsKeyId": None, "PubliclyAccessible": True,
                "ManageMasterUserPassword": None, "EnableIAMDatabaseAuthentication": False,
                "BackupRetentionPeriod": 1, "DeletionProtection": False,
                "DBParameterGroupName": None}
    subnets = plan.one("aws:eks/cluster:Cluster").inputs["vpc_config"]["subnet_ids"]
    cluster = {"resourcesVpcConfig": {"subnetIds": subnets, "endpointPublicAccess": True,
                                      "endpointPrivateAccess": False,
                                      "publicAccessCidrs": ["0.0.0.0/0"]},
               "logging": None, "encryptionConfig": None, "version": "1.29"}
    names = deploy(plan, aws, rds_overrides=database, eks_overrides=cluster,
                   skip=frozenset({f"{P}shared-fs-efs-csi-role"}))
    return misconfigure(aws, names)


def test_every_seeded_misconfiguration_is_reported_under_its_rule_and_nothing_else(
        moto_url: str) -> None:
    plan = prod_database_plan()
    stray_key = seed_misconfigured(moto_url, plan)
    calls: list[str] = []
    report = run(plan, moto_url, calls)
    assert drift(report) == EXPECTED_DRIFT | {("MLP-VFY-002", STRAY_BUCKET),
                                             ("MLP-VFY-002", stray_key)}
    assert report.planned == []
    # Read-only: every call verify made is a Describe/Get/List on the allow-list.
    assert calls and set(calls) <= set(READ_CALLS)
    assert all(call.split(":")[1].startswith(("Describe", "Get", "List")) for call in calls)


def test_the_guard_refuses_a_write_before_it_is_sent(moto_url: str) -> None:
    reset(moto_url)
    reader = AwsReader(session(), REGION, moto_url)
    s3 = reader._client("s3")
    with pytest.raises(MutatingCallError, match="s3:CreateBucket"):
        s3.create_bucket(Bucket="never-created",
                         CreateBucketConfiguration={"LocationConstraint": REGION})
    assert clients(moto_url)["s3"].list_buckets()["Buckets"] == []


def test_a_public_endpoint_without_an_allow_list_is_reported(moto_url: str) -> None:
    """MLP-EKS-001: moto, unlike EKS, does not fill publicAccessCidrs with 0.0.0.0/0 when
    none are given, so the empty allow-list case is seeded as such. Only the cluster is
    deployed (everything else is reported missing, which is not what this test is about)."""
    plan = demo_plan()
    reset(moto_url)
    cluster = plan.one("aws:eks/cluster:Cluster")
    deploy_cluster(cluster, clients(moto_url)["eks"], {"resourcesVpcConfig": {
        "subnetIds": cluster.inputs["vpc_config"]["subnet_ids"], "endpointPublicAccess": True,
        "endpointPrivateAccess": True}})
    found = {(rule, name) for rule, name in drift(run(plan, moto_url)) if name == cluster.name}
    assert found == {("MLP-EKS-001", cluster.name)}


def test_every_rule_claimed_live_has_a_seeded_misconfiguration_here() -> None:
    """The live column of the control matrix claims no rule these tests do not seed."""
    seeded = {rule for rule, _ in EXPECTED_DRIFT} | {"MLP-EKS-001"}
    assert seeded - {"MLP-VFY-001"} == set(LIVE_RULE_IDS)
