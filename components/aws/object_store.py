"""The environment's object store on S3: one bucket per purpose (datasets, model artifacts,
...) and an access-log bucket, all from raw pulumi_aws resources.

Security defaults (none of them configurable; see docs/components/object-store.md):
- Data buckets: SSE-KMS with one customer-managed, rotating key for the whole store, whose
  material can only be used through S3; S3 Bucket Keys on (far fewer KMS calls); a bucket
  policy that refuses plain HTTP and uploads asking for any other encryption or key.
- Every bucket: versioning, all four public-access-block flags, ACLs disabled (object
  ownership BucketOwnerEnforced), a TLS-only policy, lifecycle rules that abort unfinished
  multipart uploads and expire old versions.
- Server access logs of every data bucket go to the access-log bucket. That bucket is
  encrypted with SSE-S3, not the store's key: S3 server access logging supports only SSE-S3
  as default encryption of its target bucket. Its policy lets S3's logging service write only
  for the store's own buckets of this account; it does not log itself (a loop).
- `force_destroy` (delete a non-empty bucket) only in an ephemeral environment, which config
  refuses in prod.

Buckets are named `<team>-<env>-<purpose>-<random suffix>` through `bucket_prefix`: S3 names
are global, so a suffix avoids collisions and AWS picks it; the plan shows the prefix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._lib.kms import service_only_key
from components._lib.log_group import account_context
from components._lib.naming import Tagger
from components._lib.policies import (
    access_log_bucket_policy,
    data_bucket_policy,
)
from mlplat.config import ACCESS_LOG_PURPOSE, BucketConfig, ObjectStoreConfig

#: S3 caps `bucket_prefix` at 37 characters (it appends a 26-character unique suffix).
BUCKET_PREFIX_MAX = 37
#: Where access logs land in the log bucket: `s3/<purpose>/<date partitions>/...`.
ACCESS_LOG_ROOT = "s3/"
#: Days an overwritten access-log object version is kept (logs are written once; a
#: non-current version only exists after a delete or overwrite, which is worth a month).
ACCESS_LOG_NONCURRENT_DAYS = 30
#: Unfinished multipart uploads of the log bucket (S3 writes small logs; none expected).
ACCESS_LOG_ABORT_MULTIPART_DAYS = 1


def bucket_prefix(environment: str, purpose: str) -> str:
    """`<environment>-<purpose>-`, the environment shortened so it fits S3's prefix limit
    (config caps a purpose at 16 characters)."""
    room = BUCKET_PREFIX_MAX - len(purpose) - 2
    return f"{environment[:room].rstrip('-')}-{purpose}-"


@dataclass(frozen=True)
class ObjectStoreArgs:
    """Inputs of the ObjectStore component."""

    settings: ObjectStoreConfig
    """Buckets and retention from the stack config (`mlplat:objectStore`)."""
    environment: str
    """Environment name `<team>-<env>`; prefixes bucket names and the key alias."""
    ephemeral: bool
    """Buckets may be deleted with their contents (`mlplat:ephemeral`; never in prod)."""
    tags: Mapping[str, str]
    """Tags set explicitly on every taggable child."""


#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/object_store:ObjectStore"


class ObjectStore(pulumi.ComponentResource):
    """Encrypted, private, versioned, access-logged S3 buckets per purpose."""

    bucket_names: pulumi.Output[dict[str, str]]
    """Purpose -> bucket name."""
    bucket_arns: pulumi.Output[dict[str, str]]
    """Purpose -> bucket ARN."""
    kms_key_arn: pulumi.Output[str]
    """The store's key; workloads need `kms:Decrypt`/`GenerateDataKey` on it (through S3)."""
    access_log_bucket_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        self._name = name
        self._args = args
        self._tag = Tagger(args.tags, name)
        where = account_context(pulumi.InvokeOutputOptions(parent=self))

        key = service_only_key(
            resource_name=f"{name}-key",
            description=f"Encrypts the object store of {args.environment}",
            service="s3",
            where=where,
            alias_name=f"alias/mlplat/{args.environment}/object-store",
            tag=self._tag,
            opts=pulumi.ResourceOptions(parent=self),
        )

        log_bucket = self._access_log_bucket()
        data = {
            purpose: self._data_bucket(purpose, settings, key)
            for purpose, settings in sorted(args.settings.buckets.items())
        }
        log_policy = aws.s3.BucketPolicy(
            f"{name}-{ACCESS_LOG_PURPOSE}-policy",
            bucket=log_bucket.bucket.id,
            policy=pulumi.Output.all(
                log_bucket.bucket.arn, where.account, *[b.arn for b in data.values()]
            ).apply(
                lambda v: json.dumps(
                    access_log_bucket_policy(v[0], v[1], list(v[2:]), ACCESS_LOG_ROOT)
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_bucket.public_access]),
        )
        for purpose, bucket in data.items():
            aws.s3.BucketLogging(
                f"{name}-{purpose}-logging",
                bucket=bucket.id,
                target_bucket=log_bucket.bucket.id,
                target_prefix=f"{ACCESS_LOG_ROOT}{purpose}/",
                # Date-partitioned keys (`.../<account>/<region>/<bucket>/YYYY/MM/DD/`) keep
                # Athena queries over one day from listing every log object.
                target_object_key_format={
                    "partitioned_prefix": {"partition_date_source": "EventTime"}
                },
                # Delivery starts at once only if the log bucket already admits the service.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]),
            )

        self.bucket_names = pulumi.Output.all(
            **{purpose: b.bucket for purpose, b in data.items()}
        )
        self.bucket_arns = pulumi.Output.all(**{purpose: b.arn for purpose, b in data.items()})
        self.kms_key_arn = key.arn
        self.access_log_bucket_name = log_bucket.bucket.bucket
        self.register_outputs({
            "bucket_names": self.bucket_names,
            "bucket_arns": self.bucket_arns,
            "kms_key_arn": self.kms_key_arn,
            "access_log_bucket_name": self.access_log_bucket_name,
        })

    # ------------------------------------------------------------------ buckets

    def _bucket(self, purpose: str) -> _Hardened:
        """A bucket with what every bucket of the store gets: ACLs off, public access blocked
        (all four flags), versioning."""
        name, child = self._name, pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-{purpose}",
            bucket_prefix=bucket_prefix(self._args.environment, purpose),
            force_destroy=self._args.ephemeral,
            tags=self._tag(purpose, **{"mlplat.io/bucket-purpose": purpose}),
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-{purpose}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-{purpose}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-{purpose}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        return _Hardened(bucket=bucket, public_access=public_access, versioning=versioning)

    def _lifecycle(
        self,
        purpose: str,
        hardened: _Hardened,
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgs],
    ) -> None:
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-{purpose}-lifecycle",
            bucket=hardened.bucket.id,
            rules=rules,
            # Noncurrent-version rules act on versions: versioning must be on first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[hardened.versioning]),
        )

    def _data_bucket(
        self, purpose: str, settings: BucketConfig, key: aws.kms.Key
    ) -> aws.s3.Bucket:
        hardened = self._bucket(purpose)
        bucket, child = hardened.bucket, pulumi.ResourceOptions(parent=self)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-{purpose}-encryption",
            bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default={
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key.arn,
                },
                # One data key per bucket instead of a KMS call per object.
                bucket_key_enabled=True,
            )],
            opts=child,
        )
        rules = _retention_rules(
            settings.abort_incomplete_multipart_upload_days,
            settings.noncurrent_version_expiration_days,
        )
        if settings.intelligent_tiering_after_days is not None:
            rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="intelligent-tiering",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                transitions=[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=settings.intelligent_tiering_after_days,
                    storage_class="INTELLIGENT_TIERING",
                )],
            ))
        self._lifecycle(purpose, hardened, rules)
        aws.s3.BucketPolicy(
            f"{self._name}-{purpose}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda v: json.dumps(data_bucket_policy(*v))
            ),
            # With BlockPublicPolicy on, S3 checks every policy put after it; and concurrent
            # changes to one bucket's policy and public access block conflict.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[hardened.public_access]),
        )
        return bucket

    def _access_log_bucket(self) -> _Hardened:
        hardened = self._bucket(ACCESS_LOG_PURPOSE)
        purpose = ACCESS_LOG_PURPOSE
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-{purpose}-encryption",
            bucket=hardened.bucket.id,
            # SSE-S3: the only default encryption S3 server access logging can deliver to.
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default={"sse_algorithm": "AES256"},
            )],
            opts=pulumi.ResourceOptions(parent=self),
        )
        rules = _retention_rules(ACCESS_LOG_ABORT_MULTIPART_DAYS, ACCESS_LOG_NONCURRENT_DAYS)
        rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-access-logs",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                days=self._args.settings.access_logs.expiration_days
            ),
        ))
        self._lifecycle(purpose, hardened, rules)
        return hardened


@dataclass(frozen=True)
class _Hardened:
    """A bucket and the children later resources must wait for."""

    bucket: aws.s3.Bucket
    public_access: aws.s3.BucketPublicAccessBlock
    versioning: aws.s3.BucketVersioning


def _retention_rules(
    abort_multipart_days: int, noncurrent_days: int
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """The two lifecycle rules every bucket has (an empty filter: the whole bucket)."""
    return [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart-uploads",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            abort_incomplete_multipart_upload={"days_after_initiation": abort_multipart_days},
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-noncurrent-versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            noncurrent_version_expiration={"noncurrent_days": noncurrent_days},
        ),
    ]
