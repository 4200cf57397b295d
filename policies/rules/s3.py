"""S3 buckets and the separate resources that configure them.

pulumi-aws 7 splits a bucket's encryption, versioning, public access block... into resources
of their own, so most checks look up the bucket's companions in the plan."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, fsbp
from policies.rules._helpers import (
    actions,
    as_list,
    dig,
    first,
    principal_values,
    related,
    statements,
    truthy,
)

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def _companions(plan: Plan, bucket: ResourceRecord, type_token: str) -> list[ResourceRecord]:
    return related(plan, bucket, type_token, key="bucket")


def _log_target(plan: Plan, bucket: ResourceRecord) -> bool:
    """The bucket receives server access logs of others: S3 log delivery supports only SSE-S3
    there, and logging a log bucket into itself would loop."""
    return bool(related(plan, bucket, LOGGING, key="target_bucket"))


def _sse_rules(plan: Plan, bucket: ResourceRecord) -> list[dict[str, object]]:
    found = []
    for config in _companions(plan, bucket, SSE):
        found += [rule for rule in as_list(config.inputs.get("rules")) if isinstance(rule, dict)]
    return found


def _algorithms(plan: Plan, bucket: ResourceRecord) -> list[str]:
    return [str(dig(first(rule.get("apply_server_side_encryption_by_default")) or {},
                    "sse_algorithm")) for rule in _sse_rules(plan, bucket)]


def check_kms(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    algorithms = _algorithms(plan, bucket)
    if not algorithms:
        yield "no server-side encryption configuration for this bucket"
        return
    kms = [a for a in algorithms if a.startswith("aws:kms")]
    if not kms and not (_log_target(plan, bucket) and "AES256" in algorithms):
        yield f"default encryption is {', '.join(algorithms)}, not SSE-KMS"


def check_bucket_key(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    for rule in _sse_rules(plan, bucket):
        algorithm = str(dig(first(rule.get("apply_server_side_encryption_by_default")) or {},
                            "sse_algorithm"))
        if algorithm.startswith("aws:kms") and not truthy(rule.get("bucket_key_enabled")):
            yield "SSE-KMS without S3 Bucket Keys: every object request calls KMS"


def check_versioning(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    states = [str(dig(first(v.inputs.get("versioning_configuration")) or {}, "status"))
              for v in _companions(plan, bucket, VERSIONING)]
    if "Enabled" not in states:
        yield f"versioning is not enabled (found: {', '.join(states) or 'no configuration'})"


def _public_access_flag(flag: str) -> Rule:
    def check(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
        blocks = _companions(plan, bucket, PUBLIC_ACCESS)
        if not blocks:
            yield f"no public access block: {flag} is off"
        elif not any(truthy(block.inputs.get(flag)) for block in blocks):
            yield f"public access block has {flag} off"

    number = {"block_public_acls": "003", "block_public_policy": "004",
              "ignore_public_acls": "005", "restrict_public_buckets": "006"}[flag]
    return Rule(
        id=f"MLP-S3-{number}",
        title=f"S3 bucket public access block sets {flag}",
        severity=Severity.HIGH,
        rationale="Each of the four public-access-block flags closes a different way a bucket "
                  "or its objects become public (new ACLs, existing ACLs, new policies, "
                  "cross-account access through a public policy).",
        remediation=f"Attach an aws.s3.BucketPublicAccessBlock with {flag}=True to the bucket.",
        controls=(fsbp("S3.8"), baseline("data-not-public")),
        resource_types=(BUCKET,),
        check=check,
        needs_plan=True,
    )


def check_ownership(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    modes = [str(dig(first(c.inputs.get("rule")) or {}, "object_ownership"))
             for c in _companions(plan, bucket, OWNERSHIP)]
    if "BucketOwnerEnforced" not in modes:
        yield f"object ownership is {', '.join(modes) or 'not set'}, ACLs still apply"


def _denies_plain_http(statement: dict[str, object]) -> bool:
    condition = statement.get("Condition")
    secure = dig(condition, "Bool", "aws:SecureTransport") if isinstance(condition, dict) else None
    return (statement.get("Effect") == "Deny" and "*" in principal_values(statement)
            and any(a in ("s3:*", "*") for a in actions(statement))
            and str(secure).lower() == "false")


def check_tls_only(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    policies = _companions(plan, bucket, POLICY)
    if not any(_denies_plain_http(s) for p in policies for s in statements(p.inputs.get("policy"))):
        yield "no bucket policy statement denies s3:* when aws:SecureTransport is false"


def check_access_logging(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    if _log_target(plan, bucket):
        return
    if not any(log.inputs.get("target_bucket") for log in _companions(plan, bucket, LOGGING)):
        yield "server access logging is not configured"


def check_abort_multipart(bucket: ResourceRecord, plan: Plan) -> Iterator[str]:
    for config in _companions(plan, bucket, LIFECYCLE):
        for rule in as_list(config.inputs.get("rules")):
            days = dig(first(dig(rule, "abort_incomplete_multipart_upload")) or {},
                       "days_after_initiation")
            if dig(rule, "status") == "Enabled" and isinstance(days, int):
                return
    yield "no enabled lifecycle rule aborts incomplete multipart uploads"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-S3-001",
        title="S3 bucket default encryption uses a KMS key",
        severity=Severity.HIGH,
        rationale="SSE-KMS puts reads behind a key policy and CloudTrail-logged key use; "
                  "SSE-S3 encrypts but anyone with s3:GetObject decrypts. Server access log "
                  "target buckets may use SSE-S3: log delivery supports nothing else.",
        remediation="Add a BucketServerSideEncryptionConfiguration with sse_algorithm "
                    "'aws:kms' and the store's customer key.",
        controls=(fsbp("S3.17"), baseline("encryption-at-rest")),
        resource_types=(BUCKET,),
        check=check_kms,
        needs_plan=True,
    ),
    Rule(
        id="MLP-S3-002",
        title="S3 bucket using SSE-KMS enables S3 Bucket Keys",
        severity=Severity.LOW,
        rationale="Without Bucket Keys every object operation is a KMS request: cost and "
                  "throttling that push teams to turn KMS off.",
        remediation="Set bucket_key_enabled=True on the encryption rule.",
        controls=(baseline("encryption-at-rest"),),
        resource_types=(BUCKET,),
        check=check_bucket_key,
        needs_plan=True,
    ),
    Rule(
        id="MLP-S3-007",
        title="S3 bucket has versioning enabled",
        severity=Severity.MEDIUM,
        rationale="Versioning turns an overwrite or delete (by mistake or by ransomware) into "
                  "a recoverable event.",
        remediation="Add a BucketVersioning with status 'Enabled'.",
        controls=(fsbp("S3.14"), baseline("recoverability")),
        resource_types=(BUCKET,),
        check=check_versioning,
        needs_plan=True,
    ),
    *(_public_access_flag(flag) for flag in ("block_public_acls", "block_public_policy",
                                             "ignore_public_acls", "restrict_public_buckets")),
    Rule(
        id="MLP-S3-008",
        title="S3 bucket enforces bucket-owner object ownership (ACLs disabled)",
        severity=Severity.MEDIUM,
        rationale="With ACLs disabled, access is decided by policies alone; an object "
                  "uploaded by another account cannot stay out of the owner's control.",
        remediation="Add a BucketOwnershipControls with object_ownership 'BucketOwnerEnforced'.",
        controls=(fsbp("S3.12"),),
        resource_types=(BUCKET,),
        check=check_ownership,
        needs_plan=True,
    ),
    Rule(
        id="MLP-S3-009",
        title="S3 bucket policy denies requests without TLS",
        severity=Severity.HIGH,
        rationale="Without an explicit deny on aws:SecureTransport=false, clients may read and "
                  "write data in clear text.",
        remediation="Add a Deny statement for Principal '*', Action 's3:*' with condition "
                    "Bool aws:SecureTransport = false to the bucket policy.",
        controls=(fsbp("S3.5"), baseline("encryption-in-transit")),
        resource_types=(BUCKET,),
        check=check_tls_only,
        needs_plan=True,
    ),
    Rule(
        id="MLP-S3-010",
        title="S3 bucket has server access logging",
        severity=Severity.MEDIUM,
        rationale="Access logs are the record of who read which object; without them a data "
                  "leak cannot be scoped. A bucket that receives access logs is exempt.",
        remediation="Add a BucketLogging targeting the store's access-log bucket.",
        controls=(fsbp("S3.9"), baseline("audit-logging")),
        resource_types=(BUCKET,),
        check=check_access_logging,
        needs_plan=True,
    ),
    Rule(
        id="MLP-S3-011",
        title="S3 bucket lifecycle aborts incomplete multipart uploads",
        severity=Severity.LOW,
        rationale="Abandoned multipart uploads are invisible, billed storage that no "
                  "retention rule ever removes.",
        remediation="Add an enabled lifecycle rule with abort_incomplete_multipart_upload.",
        controls=(fsbp("S3.13"),),
        resource_types=(BUCKET,),
        check=check_abort_multipart,
        needs_plan=True,
    ),
)
