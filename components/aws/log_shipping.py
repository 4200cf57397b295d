"""Container log shipping on AWS: the KMS-encrypted CloudWatch log group Fluent Bit writes
to and the IAM role its service account gets through EKS Pod Identity.

The in-cluster half (the Fluent Bit DaemonSet and its output) is in
components/k8s/monitoring.py, which takes this component's `destination`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components._lib.log_group import account_context, encrypted_log_group
from components._lib.naming import Tagger
from components._lib.policies import PolicyDocument
from components.aws.team_access import PodIdentityCluster, pod_identity_role

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/log_shipping:LogShipping"

#: Service account the Fluent Bit chart runs as (set in its values, so the two agree).
FLUENT_BIT_SERVICE_ACCOUNT = "fluent-bit"


def log_group_name(environment: str) -> str:
    """Fixed name of the environment's container log group (the key policy needs it up
    front)."""
    return f"/mlplat/{environment}/containers"


def writer_policy(log_group_arn: str) -> PolicyDocument:
    """What Fluent Bit's `cloudwatch_logs` output needs: create streams and put events in
    the one log group. No CreateLogGroup: the group exists, with its key and retention."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "WriteContainerLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams",
                       "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
        }],
    }


@dataclass(frozen=True)
class CloudWatchDestination:
    """Where Fluent Bit ships on AWS; handed to the monitoring component."""

    log_group_name: str
    region: pulumi.Input[str]
    ready: pulumi.Resource
    """The Pod Identity association: Fluent Bit starts after its credentials exist."""


@dataclass(frozen=True)
class LogShippingArgs:
    """Inputs of LogShipping."""

    cluster: PodIdentityCluster
    """The environment's cluster: Fluent Bit's Pod Identity role is associated with it."""
    namespace: str
    """Namespace Fluent Bit runs in (the monitoring namespace)."""
    retention_days: int
    """Days the log group keeps container logs."""
    tags: Mapping[str, str]
    """Tags of the log group, its key and the role."""


class LogShipping(pulumi.ComponentResource):
    """Encrypted log group + Fluent Bit's Pod Identity role. Pass the AWS provider in
    `opts.providers`."""

    destination: CloudWatchDestination

    def __init__(
        self, name: str, args: LogShippingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        environment = args.cluster.environment
        where = account_context(pulumi.InvokeOutputOptions(parent=self))
        tag = Tagger(args.tags, name)
        group_name = log_group_name(environment)
        logs = encrypted_log_group(
            parent=self, prefix=name, tag=tag, where=where, log_group_name=group_name,
            retention_days=args.retention_days, key_role="logs-key", log_group_role="logs",
            key_description=f"Container logs of {environment}",
            alias_name=f"alias/{environment}-container-logs",
        )
        association = pod_identity_role(
            self, name, args.cluster, args.namespace, FLUENT_BIT_SERVICE_ACCOUNT,
            policy=logs.log_group.arn.apply(lambda arn: json.dumps(writer_policy(arn))),
            tag=tag, aws_account=where.account,
        )
        self.destination = CloudWatchDestination(
            log_group_name=group_name, region=where.region, ready=association,
        )
        self.register_outputs({"log_group_name": group_name,
                               "log_group_arn": logs.log_group.arn})
