"""A customer-managed KMS key with rotation and an alias: what every encrypting component of
an environment creates for its data (object store, metadata database, alarm topic, volumes,
shared file system)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components._lib.naming import Tagger
from components._lib.policies import service_only_key_policy

if TYPE_CHECKING:  # log_group builds its key with rotating_key: no import cycle at run time
    from components._lib.log_group import AccountContext

#: Days a scheduled key deletion waits (the maximum): time to notice and cancel it.
KEY_DELETION_WINDOW_DAYS = 30


def rotating_key(
    *,
    resource_name: str,
    description: str,
    policy: pulumi.Input[str],
    alias_name: str,
    tag: Tagger,
    role: str,
    opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """`aws.kms.Key` `<resource_name>` with yearly rotation and the given key policy, plus
    `aws.kms.Alias` `<resource_name>-alias` named `alias_name`; both with `opts`."""
    key = aws.kms.Key(
        resource_name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=policy,
        tags=tag(role),
        opts=opts,
    )
    aws.kms.Alias(
        f"{resource_name}-alias", name=alias_name, target_key_id=key.key_id, opts=opts
    )
    return key


def service_only_key(
    *,
    resource_name: str,
    description: str,
    service: str,
    where: AccountContext,
    alias_name: str,
    tag: Tagger,
    opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """A `rotating_key` (tag role `key`) whose material can be used only through one AWS
    service of the key's region (`service` is its endpoint prefix: `s3`, `ec2`,
    `elasticfilesystem`), see `service_only_key_policy`."""
    return rotating_key(
        resource_name=resource_name,
        description=description,
        policy=pulumi.Output.all(where.partition, where.account, where.region).apply(
            lambda v: json.dumps(
                service_only_key_policy(v[0], v[1], f"{service}.{v[2]}.amazonaws.com")
            )
        ),
        alias_name=alias_name,
        tag=tag,
        role="key",
        opts=opts,
    )
