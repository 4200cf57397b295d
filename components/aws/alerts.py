"""The environment's alarm topic: the SNS topic every CloudWatch alarm of the environment
notifies (today the metadata database's; monitoring adds more). Teams subscribe their own
endpoints to it; mlplat creates no subscriptions.

A function, not a component: its children belong to the composition that calls it (`opts`
carries the parent and the environment's AWS provider).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components._lib.kms import rotating_key
from components._lib.log_group import AccountContext
from components._lib.naming import Tagger
from components._lib.policies import alarm_topic_key_policy, alarm_topic_policy


def alarm_topic(
    *,
    opts: pulumi.ResourceOptions,
    prefix: str,
    tag: Tagger,
    where: AccountContext,
    environment: str,
) -> aws.sns.Topic:
    """A KMS-encrypted SNS topic (customer key: CloudWatch cannot use the AWS managed SNS
    key) that only this account's CloudWatch alarms may publish to, over TLS."""
    child = opts
    key = rotating_key(
        resource_name=f"{prefix}-alarms-key",
        description=f"Encrypts the alarm topic of {environment}",
        policy=pulumi.Output.all(where.partition, where.account).apply(
            lambda v: json.dumps(alarm_topic_key_policy(*v))
        ),
        alias_name=f"alias/mlplat/{environment}/alarms",
        tag=tag,
        role="alarms-key",
        opts=child,
    )
    topic = aws.sns.Topic(
        f"{prefix}-alarms",
        name=f"{environment}-alarms",
        kms_master_key_id=key.arn,
        tags=tag("alarms"),
        opts=child,
    )
    alarms = pulumi.Output.concat(
        "arn:", where.partition, ":cloudwatch:", where.region, ":", where.account, ":alarm:*"
    )
    aws.sns.TopicPolicy(
        f"{prefix}-alarms-policy",
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, where.account, alarms).apply(
            lambda v: json.dumps(alarm_topic_policy(*v))
        ),
        opts=child,
    )
    return topic
