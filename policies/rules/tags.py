"""Required tags on every taggable AWS resource: ownership and cost attribution."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline
from policies.rules._helpers import tags

REQUIRED_TAGS = ("team", "env", "cost-center", "managed-by")

#: AWS types that accept `tags` (pulumi-aws), among those mlplat creates or may create.
#: Companion resources (bucket policies, attachments, routes, aliases...) take none.
TAGGABLE_TYPES: tuple[str, ...] = (
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/eip:Eip",
    "aws:ec2/flowLog:FlowLog",
    "aws:ec2/instance:Instance",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:eks/accessEntry:AccessEntry",
    "aws:eks/addon:Addon",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/policy:Policy",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:rds/instance:Instance",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:s3/bucket:Bucket",
    "aws:secretsmanager/secret:Secret",
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
)


def check_tags(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    present = tags(record)
    missing = [key for key in REQUIRED_TAGS if not present.get(key)]
    if missing:
        yield f"missing required tags: {', '.join(missing)}"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-TAG-001", title="Taggable AWS resources carry team, env, cost-center, managed-by",
        severity=Severity.MEDIUM,
        rationale="Tags are how an incident responder finds the owner, how costs are "
                  "charged back, and how environment-scoped rules (prod deletion protection) "
                  "know where a resource belongs.",
        remediation="Pass the environment's tags (components/_lib/naming.py) explicitly.",
        controls=(baseline("ownership"),),
        resource_types=TAGGABLE_TYPES, check=check_tags,
    ),
)
