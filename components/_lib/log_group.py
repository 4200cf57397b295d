"""The KMS key + alias + encrypted CloudWatch log group that every log-writing component
needs (VPC flow logs, EKS control-plane logs, later more).

Children are registered under the calling component (`parent`), named
`<prefix>-<key_role>`, `<prefix>-<key_role>-alias` and `<prefix>-<log_group_role>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._lib.kms import rotating_key
from components._lib.naming import Tagger
from components._lib.policies import cloudwatch_logs_key_policy


@dataclass(frozen=True)
class EncryptedLogGroup:
    """What the caller wires further: the key (for its ARN) and the log group."""

    key: aws.kms.Key
    log_group: aws.cloudwatch.LogGroup


@dataclass(frozen=True)
class AccountContext:
    """Where the resources live; outputs of the caller's data-source invokes."""

    partition: pulumi.Output[str]
    account: pulumi.Output[str]
    region: pulumi.Output[str]


def account_context(opts: pulumi.InvokeOutputOptions) -> AccountContext:
    """Partition, account and region of the provider `opts` resolves to."""
    return AccountContext(
        partition=aws.get_partition_output(opts=opts).partition,
        account=aws.get_caller_identity_output(opts=opts).account_id,
        region=aws.get_region_output(opts=opts).region,
    )


def encrypted_log_group(
    *,
    parent: pulumi.Resource,
    prefix: str,
    tag: Tagger,
    where: AccountContext,
    log_group_name: str,
    retention_days: int,
    key_role: str,
    log_group_role: str,
    key_description: str,
    alias_name: str,
) -> EncryptedLogGroup:
    """A rotating customer KMS key usable by CloudWatch Logs only for the one log group, its
    alias, and the log group itself with the given retention."""
    child = pulumi.ResourceOptions(parent=parent)
    # The log group name is fixed (not auto-named) so the key policy can reference the log
    # group before it exists, without a dependency cycle.
    log_group_arn = pulumi.Output.concat(
        "arn:", where.partition, ":logs:", where.region, ":", where.account, ":log-group:",
        log_group_name,
    )
    key = rotating_key(
        resource_name=f"{prefix}-{key_role}",
        description=key_description,
        policy=pulumi.Output.all(where.partition, where.account, where.region, log_group_arn)
        .apply(lambda v: json.dumps(cloudwatch_logs_key_policy(*v))),
        alias_name=alias_name,
        tag=tag,
        role=key_role,
        opts=child,
    )
    log_group = aws.cloudwatch.LogGroup(
        f"{prefix}-{log_group_role}",
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=key.arn,
        tags=tag(log_group_role),
        opts=child,
    )
    return EncryptedLogGroup(key=key, log_group=log_group)
