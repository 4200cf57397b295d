"""IAM and SQS policy documents for Karpenter, as plain functions of plain values.

Kept apart from the component so the documents can be read, diffed and unit-tested as data.
The controller policy follows the shape of Karpenter's published reference policy (every
mutating EC2 action is conditioned on the cluster's ownership tag and a NodePool tag), with
two deliberate reductions:

* the node instance profile is created by mlplat, not by Karpenter, so the controller gets no
  `iam:CreateInstanceProfile` / `AddRoleToInstanceProfile` / `DeleteInstanceProfile` at all -
  it can only read the one profile it is given;
* `iam:PassRole` names exactly the node role and only towards EC2.

Statements with `"Resource": "*"` hold read-only actions that AWS cannot scope to a resource
(`ec2:Describe*`, `pricing:GetProducts`, `iam:ListInstanceProfiles`); the tests check that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Tags Karpenter writes on every instance it launches; `aws:TagKeys` after launch is limited
#: to these so the controller cannot re-tag instances into another cluster's scope.
_POST_LAUNCH_TAG_KEYS = ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]

#: Describe calls Karpenter makes to pick instance types, subnets, AMIs and prices.
_REGIONAL_READ_ACTIONS = [
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstances",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
]

#: EventBridge detail types Karpenter's interruption controller understands.
INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Spot Instance Interruption Warning"],
    },
    "rebalance": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance Rebalance Recommendation"],
    },
    "instance-state-change": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
    },
}


@dataclass(frozen=True)
class ControllerScope:
    """Everything the controller policy is scoped to."""

    partition: str
    region: str
    account_id: str
    cluster_name: str
    node_role_arn: str
    instance_profile_arn: str
    queue_arn: str


def _ec2(scope: ControllerScope, resource: str, *, account: str = "*") -> str:
    return f"arn:{scope.partition}:ec2:{scope.region}:{account}:{resource}"


def controller_policy(scope: ControllerScope) -> dict[str, Any]:
    """Least-privilege identity policy of the Karpenter controller for one cluster."""
    owned = {f"aws:RequestTag/kubernetes.io/cluster/{scope.cluster_name}": "owned",
             "aws:RequestTag/eks:eks-cluster-name": scope.cluster_name}
    owned_resource = {f"aws:ResourceTag/kubernetes.io/cluster/{scope.cluster_name}": "owned"}
    launched = [
        _ec2(scope, "fleet/*"),
        _ec2(scope, "instance/*"),
        _ec2(scope, "volume/*"),
        _ec2(scope, "network-interface/*"),
        _ec2(scope, "launch-template/*"),
        _ec2(scope, "spot-instances-request/*"),
    ]
    statements: list[dict[str, Any]] = [
        {
            # Resources a launch only reads: AMIs (owned by Amazon, hence no account),
            # the discovered subnets and security groups, reservations.
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": [
                _ec2(scope, "image/*", account=""),
                _ec2(scope, "snapshot/*", account=""),
                _ec2(scope, "security-group/*"),
                _ec2(scope, "subnet/*"),
                _ec2(scope, "capacity-reservation/*"),
            ],
        },
        {
            # Launching through a launch template only if Karpenter made it for this cluster.
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": _ec2(scope, "launch-template/*"),
            "Condition": {
                "StringEquals": owned_resource,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            # Anything created must carry this cluster's ownership tag and a NodePool tag.
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Resource": launched,
            "Condition": {
                "StringEquals": owned,
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": launched,
            "Condition": {
                "StringEquals": {
                    **owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": _ec2(scope, "instance/*"),
            "Condition": {
                "StringEquals": owned_resource,
                "StringEqualsIfExists": {
                    "aws:RequestTag/eks:eks-cluster-name": scope.cluster_name
                },
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "ForAllValues:StringEquals": {"aws:TagKeys": _POST_LAUNCH_TAG_KEYS},
            },
        },
        {
            # Only instances and templates of this cluster's NodePools can be removed.
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": [_ec2(scope, "instance/*"), _ec2(scope, "launch-template/*")],
            "Condition": {
                "StringEquals": owned_resource,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            # EC2 Describe* calls cannot be scoped to resources; pin them to the region.
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": _REGIONAL_READ_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": scope.region}},
        },
        {
            # The AMI alias resolves through Amazon's public parameters only.
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:{scope.partition}:ssm:{scope.region}::parameter/aws/service/*",
        },
        {
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Action": "pricing:GetProducts",
            "Resource": "*",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Action": [
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            "Resource": scope.queue_arn,
        },
        {
            "Sid": "AllowPassingNodeRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": scope.node_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
        {
            "Sid": "AllowNodeInstanceProfileRead",
            "Effect": "Allow",
            "Action": "iam:GetInstanceProfile",
            "Resource": scope.instance_profile_arn,
        },
        {
            # Karpenter's instance-profile garbage collector lists profiles even when it is
            # handed one; IAM List calls cannot be scoped to a resource.
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Action": "iam:ListInstanceProfiles",
            "Resource": "*",
        },
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": (
                f"arn:{scope.partition}:eks:{scope.region}:{scope.account_id}"
                f":cluster/{scope.cluster_name}"
            ),
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def node_trust_policy() -> dict[str, Any]:
    """Trust for EC2 instances (Karpenter-launched nodes)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowEc2ToAssumeNodeRole",
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def interruption_queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> dict[str, Any]:
    """Only our EventBridge rules (and the SQS service itself) may send; plain HTTP is refused
    for everyone."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowInterruptionEventsFromOurRules",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}},
            },
            {
                "Sid": "AllowSqsService",
                "Effect": "Allow",
                "Principal": {"Service": "sqs.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyNonTlsAccess",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
