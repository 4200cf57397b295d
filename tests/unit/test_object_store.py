"""Plan-level tests of the ObjectStore component: every security setting a reviewer relies on
without a cloud (encryption and its key, public access, ownership, versioning, TLS-only
policies, access logging, lifecycle, force_destroy), for dev and prod environments.

Environments are planned through the real offline engine (`plan_environment`), so these
tests read exactly the registrations `mlplat plan` shows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from data_store_plans import EPHEMERAL, REGION, plan_of

from components.aws.object_store import ACCESS_LOG_ROOT, BUCKET_PREFIX_MAX, bucket_prefix
from mlplat.plan import Plan, ResourceRecord

pytestmark = pytest.mark.unit

COMPONENT = "mlplat:aws/object_store:ObjectStore"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
LOG_PURPOSE = "access-logs"
DATA_PURPOSES = ["artifacts", "datasets"]
TIERS = ["dev", "prod"]


def children(plan: Plan, type_token: str) -> list[ResourceRecord]:
    component = plan.one(COMPONENT)
    return [r for r in plan.children(component.urn) if r.type == type_token]


def of_purpose(plan: Plan, kind: str, purpose: str) -> ResourceRecord:
    """The child of one bucket: `kind` is a type token, optionally followed by `:<role>` when
    the child is named `<component>-<purpose>-<role>`."""
    type_token, role = (kind.rsplit(":", 1) if kind.count(":") == 3 else (kind, ""))
    suffix = f"-{purpose}" + (f"-{role}" if role else "")
    found = [r for r in children(plan, type_token) if r.name.endswith(suffix)]
    assert len(found) == 1, f"expected one {kind} for {purpose}, got {len(found)}"
    return found[0]


def bucket(plan: Plan, purpose: str) -> ResourceRecord:
    return of_purpose(plan, BUCKET, purpose)


def bucket_name(plan: Plan, purpose: str) -> str:
    """The bucket's name as the mocks complete it (prefix + suffix), read from a sibling."""
    return of_purpose(
        plan, "aws:s3/bucketVersioning:BucketVersioning:versioning", purpose
    ).inputs["bucket"]


def policy_of(plan: Plan, purpose: str) -> dict[str, Any]:
    record = of_purpose(plan, "aws:s3/bucketPolicy:BucketPolicy:policy", purpose)
    document: dict[str, Any] = json.loads(record.inputs["policy"])
    return document


def store_key_arn(plan: Plan) -> str:
    (key,) = children(plan, KEY)
    (sse,) = [
        r for r in children(plan, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                  "BucketServerSideEncryptionConfiguration")
        if r.name.endswith("-datasets-encryption")
    ]
    arn: str = sse.inputs["rules"][0]["apply_server_side_encryption_by_default"][
        "kms_master_key_id"]
    assert key.name.endswith("-objects-key")
    return arn


# ------------------------------------------------------------------ naming


def test_bucket_prefix_fits_s3_and_keeps_the_purpose() -> None:
    long_env = "a" * 30 + "-staging"
    for purpose in ("datasets", "x", "p" * 16):
        prefix = bucket_prefix(long_env, purpose)
        assert len(prefix) <= BUCKET_PREFIX_MAX
        assert prefix.endswith(f"-{purpose}-") and "--" not in prefix
    assert bucket_prefix("vision-dev", "datasets") == "vision-dev-datasets-"


def test_one_bucket_per_purpose_plus_the_log_bucket() -> None:
    plan = plan_of("dev", **EPHEMERAL)
    prefixes = sorted(r.inputs["bucket_prefix"] for r in children(plan, BUCKET))
    assert prefixes == [f"vision-dev-{p}-" for p in
                        ("access-logs", "artifacts", "checkpoints", "datasets")]
    for record in children(plan, BUCKET):
        purpose = record.inputs["tags"]["mlplat.io/bucket-purpose"]
        assert record.inputs["tags"]["cost-center"] == "cc-4711"
        assert record.name.endswith(f"-{purpose}")


# ------------------------------------------------------------------ every bucket


@pytest.mark.parametrize("env", TIERS)
@pytest.mark.parametrize("purpose", [*DATA_PURPOSES, LOG_PURPOSE])
def test_every_bucket_blocks_public_access_disables_acls_and_is_versioned(
    env: str, purpose: str
) -> None:
    plan = plan_of(env)
    public = of_purpose(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock:"
                              "public-access", purpose)
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                 "restrict_public_buckets"):
        assert public.inputs[flag] is True, flag
    ownership = of_purpose(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls:"
                                 "ownership", purpose)
    assert ownership.inputs["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    versioning = of_purpose(plan, "aws:s3/bucketVersioning:BucketVersioning:versioning",
                            purpose)
    assert versioning.inputs["versioning_configuration"]["status"] == "Enabled"
    assert public.inputs["bucket"] == ownership.inputs["bucket"] == bucket_name(plan, purpose)


@pytest.mark.parametrize("env", TIERS)
@pytest.mark.parametrize("purpose", [*DATA_PURPOSES, LOG_PURPOSE])
def test_every_bucket_policy_denies_requests_without_tls(env: str, purpose: str) -> None:
    plan = plan_of(env)
    arn = f"arn:aws:s3:::{bucket_name(plan, purpose)}"
    (deny,) = [s for s in policy_of(plan, purpose)["Statement"]
               if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")]
    assert deny == {
        "Sid": "DenyNonTlsAccess",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    record = of_purpose(plan, "aws:s3/bucketPolicy:BucketPolicy:policy", purpose)
    assert record.inputs["bucket"] == bucket_name(plan, purpose)


@pytest.mark.parametrize("env", TIERS)
@pytest.mark.parametrize("purpose", [*DATA_PURPOSES, LOG_PURPOSE])
def test_bucket_policy_waits_for_the_public_access_block(env: str, purpose: str) -> None:
    plan = plan_of(env)
    policy = of_purpose(plan, "aws:s3/bucketPolicy:BucketPolicy:policy", purpose)
    public = of_purpose(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock:"
                              "public-access", purpose)
    assert public.urn in policy.dependencies
    lifecycle = of_purpose(plan, "aws:s3/bucketLifecycleConfiguration:"
                                 "BucketLifecycleConfiguration:lifecycle", purpose)
    versioning = of_purpose(plan, "aws:s3/bucketVersioning:BucketVersioning:versioning",
                            purpose)
    assert versioning.urn in lifecycle.dependencies


# ------------------------------------------------------------------ data buckets


@pytest.mark.parametrize("env", TIERS)
@pytest.mark.parametrize("purpose", DATA_PURPOSES)
def test_data_buckets_use_the_store_key_with_bucket_keys(env: str, purpose: str) -> None:
    plan = plan_of(env)
    sse = of_purpose(plan, "aws:s3/bucketServerSideEncryptionConfiguration:"
                           "BucketServerSideEncryptionConfiguration:encryption", purpose)
    (rule,) = sse.inputs["rules"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms", "kms_master_key_id": store_key_arn(plan)}
    assert rule["bucket_key_enabled"] is True


@pytest.mark.parametrize("env", TIERS)
def test_store_key_rotates_and_works_only_through_s3(env: str) -> None:
    plan = plan_of(env)
    (key,) = children(plan, KEY)
    assert key.inputs["enable_key_rotation"] is True
    assert key.inputs["deletion_window_in_days"] == 30
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert set(statements) == {"AccountAdministers", "DenyUseOutsideTheService"}
    assert statements["AccountAdministers"]["Principal"] == {
        "AWS": "arn:aws:iam::111122223333:root"}
    deny = statements["DenyUseOutsideTheService"]
    assert deny["Effect"] == "Deny"
    assert {"kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"} <= set(deny["Action"])
    assert deny["Condition"] == {
        "StringNotEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    # No statement lets anyone but the account in.
    assert all(s["Effect"] == "Deny" or s["Principal"] == statements["AccountAdministers"][
        "Principal"] for s in statements.values())


@pytest.mark.parametrize("purpose", DATA_PURPOSES)
def test_data_bucket_policy_refuses_other_encryption(purpose: str) -> None:
    plan = plan_of("prod")
    statements = {s["Sid"]: s for s in policy_of(plan, purpose)["Statement"]}
    objects = f"arn:aws:s3:::{bucket_name(plan, purpose)}/*"
    assert statements["DenyOtherEncryption"]["Effect"] == "Deny"
    assert statements["DenyOtherEncryption"]["Resource"] == objects
    assert statements["DenyOtherEncryption"]["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    assert statements["DenyOtherKmsKey"]["Condition"] == {
        "StringNotEqualsIfExists": {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": store_key_arn(plan)}}
    assert all(s["Effect"] == "Deny" for s in statements.values())


@pytest.mark.parametrize("env", TIERS)
@pytest.mark.parametrize("purpose", DATA_PURPOSES)
def test_each_data_bucket_logs_to_the_log_bucket(env: str, purpose: str) -> None:
    plan = plan_of(env)
    logging = of_purpose(plan, "aws:s3/bucketLogging:BucketLogging:logging", purpose)
    assert logging.inputs["bucket"] == bucket_name(plan, purpose)
    assert logging.inputs["target_bucket"] == bucket_name(plan, LOG_PURPOSE)
    assert logging.inputs["target_prefix"] == f"{ACCESS_LOG_ROOT}{purpose}/"
    assert "target_grants" not in logging.inputs  # ACLs are off: the policy grants
    log_policy = of_purpose(plan, "aws:s3/bucketPolicy:BucketPolicy:policy", LOG_PURPOSE)
    assert log_policy.urn in logging.dependencies


def test_the_log_bucket_does_not_log_itself() -> None:
    plan = plan_of("dev")
    targets = [r.inputs["bucket"] for r in children(plan, "aws:s3/bucketLogging:BucketLogging")]
    assert sorted(targets) == sorted(bucket_name(plan, p) for p in DATA_PURPOSES)


# ------------------------------------------------------------------ the log bucket


@pytest.mark.parametrize("env", TIERS)
def test_log_bucket_uses_sse_s3(env: str) -> None:
    plan = plan_of(env)
    sse = of_purpose(plan, "aws:s3/bucketServerSideEncryptionConfiguration:"
                           "BucketServerSideEncryptionConfiguration:encryption", LOG_PURPOSE)
    (rule,) = sse.inputs["rules"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}


@pytest.mark.parametrize("env", TIERS)
def test_log_bucket_admits_only_s3_logging_for_the_store_buckets(env: str) -> None:
    plan = plan_of(env)
    arn = f"arn:aws:s3:::{bucket_name(plan, LOG_PURPOSE)}"
    statements = {s["Sid"]: s for s in policy_of(plan, LOG_PURPOSE)["Statement"]}
    assert set(statements) == {"S3ServerAccessLogsDelivery", "DenyNonTlsAccess"}
    allow = statements["S3ServerAccessLogsDelivery"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"{arn}/{ACCESS_LOG_ROOT}*"
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": sorted(
            f"arn:aws:s3:::{bucket_name(plan, p)}" for p in DATA_PURPOSES)},
        "StringEquals": {"aws:SourceAccount": "111122223333"},
    }


# ------------------------------------------------------------------ lifecycle


def _rules(plan: Plan, purpose: str) -> dict[str, dict[str, Any]]:
    record = of_purpose(plan, "aws:s3/bucketLifecycleConfiguration:"
                              "BucketLifecycleConfiguration:lifecycle", purpose)
    rules = {r["id"]: r for r in record.inputs["rules"]}
    assert all(r["status"] == "Enabled" and r["filter"] == {} for r in rules.values())
    return rules


def test_default_lifecycle_tiers_datasets_only() -> None:
    plan = plan_of("prod")
    for purpose in DATA_PURPOSES:
        rules = _rules(plan, purpose)
        assert rules["abort-incomplete-multipart-uploads"][
            "abort_incomplete_multipart_upload"] == {"days_after_initiation": 7}
        assert rules["expire-noncurrent-versions"]["noncurrent_version_expiration"] == {
            "noncurrent_days": 90}
    assert _rules(plan, "datasets")["intelligent-tiering"]["transitions"] == [
        {"days": 0, "storage_class": "INTELLIGENT_TIERING"}]
    assert "intelligent-tiering" not in _rules(plan, "artifacts")


def test_lifecycle_follows_config() -> None:
    plan = plan_of("dev", **EPHEMERAL)
    datasets = _rules(plan, "datasets")
    assert datasets["abort-incomplete-multipart-uploads"][
        "abort_incomplete_multipart_upload"] == {"days_after_initiation": 2}
    assert datasets["expire-noncurrent-versions"]["noncurrent_version_expiration"] == {
        "noncurrent_days": 30}
    assert datasets["intelligent-tiering"]["transitions"] == [
        {"days": 45, "storage_class": "INTELLIGENT_TIERING"}]
    checkpoints = _rules(plan, "checkpoints")
    assert checkpoints["expire-noncurrent-versions"]["noncurrent_version_expiration"] == {
        "noncurrent_days": 3}
    assert "intelligent-tiering" not in checkpoints
    logs = _rules(plan, LOG_PURPOSE)
    assert logs["expire-access-logs"]["expiration"] == {"days": 30}


# ------------------------------------------------------------------ force_destroy


@pytest.mark.parametrize(("env", "overrides", "expected"), [
    ("dev", {}, False),
    ("prod", {}, False),
    ("dev", EPHEMERAL, True),
])
def test_force_destroy_only_in_an_ephemeral_environment(
    env: str, overrides: dict[str, Any], expected: bool
) -> None:
    plan = plan_of(env, **overrides)
    values = {r.inputs["force_destroy"] for r in children(plan, BUCKET)}
    assert values == {expected}
