"""The AWS Load Balancer Controller: how requests reach KServe's InferenceServices on AWS.
AWS-only (on-prem, KServe uses an existing ingress controller named in config).

Children of one `mlplat:aws/load_balancer_controller:LoadBalancerController`:

* an IAM role only the controller's service account of this cluster can assume (EKS Pod
  Identity), with an inline policy scoped to this account, region and VPC and to load
  balancers tagged for this cluster. Creating a load balancer is allowed only with the
  configured scheme (`elasticloadbalancing:Scheme`), so with the default `internal` not even
  an annotated Ingress or Service can make an internet-facing one. No WAF, Shield, Cognito
  or ACM permissions (those features are off); reads that AWS cannot scope are region-bound;
* the pinned chart: two replicas with a disruption budget, region and VPC given (pods
  cannot reach IMDS: hop limit 1), `defaultLoadBalancerScheme` and IP targets (KServe's
  Services are ClusterIP; NodePorts are refused by team quotas), and its Service webhook so
  Services of type LoadBalancer get this controller's internal NLBs rather than the legacy
  in-tree (internet-facing by default) ones;
* an IngressClassParams fixing scheme, IP targets, one shared ALB (an ingress group) and,
  for an internet-facing opt-in, the allowed source CIDRs — Ingress annotations cannot
  override it — and the IngressClass KServe's Ingresses name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components._lib.helm import pinned_release
from components._lib.log_group import account_context
from components._lib.naming import Tagger
from components._lib.policies import PolicyDocument
from components.aws.team_access import PodIdentityCluster, pod_identity_role
from mlplat.config import LoadBalancerScheme

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/load_balancer_controller:LoadBalancerController"

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
#: The controller name an IngressClass hands its Ingresses to.
INGRESS_CONTROLLER = "ingress.k8s.aws/alb"
#: Tag the controller puts on everything it creates (and the policy conditions on).
CLUSTER_TAG = "elbv2.k8s.aws/cluster"

#: Reads the controller needs that AWS cannot scope to resources. (Upstream's policy also
#: lists the Outposts customer-owned IP pool reads; mlplat runs no Outposts.)
READ_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:DescribeRouteTables",
    "ec2:DescribeIpamPools",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "elasticloadbalancing:DescribeCapacityReservation",
)
#: Changes to load balancers and target groups this cluster's controller created.
MODIFY_ACTIONS: tuple[str, ...] = (
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools",
    "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
)
#: Listener and rule changes (listeners live on this cluster's load balancers).
LISTENER_ACTIONS: tuple[str, ...] = (
    "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:RemoveListenerCertificates",
)


@dataclass(frozen=True)
class PolicyScope:
    """Where the controller may act."""

    partition: str
    region: str
    account: str
    cluster_name: str
    vpc_id: str
    schemes: Sequence[LoadBalancerScheme]
    """Schemes the controller may create load balancers with."""


def controller_policy(scope: PolicyScope) -> PolicyDocument:
    """The controller's identity policy (see the module docstring for its shape)."""
    p, r, a = scope.partition, scope.region, scope.account
    elb = f"arn:{p}:elasticloadbalancing:{r}:{a}"
    security_groups = f"arn:{p}:ec2:{r}:{a}:security-group/*"
    vpc = f"arn:{p}:ec2:{r}:{a}:vpc/{scope.vpc_id}"
    balancers = [f"{elb}:loadbalancer/app/*/*", f"{elb}:loadbalancer/net/*/*"]
    target_groups = f"{elb}:targetgroup/*/*"
    listeners = [f"{elb}:listener/app/*/*/*", f"{elb}:listener/net/*/*/*",
                 f"{elb}:listener-rule/app/*/*/*/*", f"{elb}:listener-rule/net/*/*/*/*"]
    owned = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": scope.cluster_name}}
    tagged_at_creation = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": scope.cluster_name}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CreateElbServiceLinkedRole", "Effect": "Allow",
             "Action": "iam:CreateServiceLinkedRole",
             "Resource": f"arn:{p}:iam::{a}:role/aws-service-role/"
                         "elasticloadbalancing.amazonaws.com/*",
             "Condition": {"StringEquals": {
                 "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
            {"Sid": "ReadLoadBalancingContext", "Effect": "Allow",
             "Action": list(READ_ACTIONS), "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": r}}},
            {"Sid": "ReadVpcSecurityGroups", "Effect": "Allow",
             "Action": "ec2:GetSecurityGroupsForVpc", "Resource": [vpc, security_groups]},
            {"Sid": "CreateTaggedSecurityGroupInVpc", "Effect": "Allow",
             "Action": "ec2:CreateSecurityGroup", "Resource": [vpc, security_groups],
             "Condition": tagged_at_creation},
            {"Sid": "TagSecurityGroupAtCreation", "Effect": "Allow",
             "Action": "ec2:CreateTags", "Resource": security_groups,
             "Condition": {"StringEquals": {
                 f"aws:RequestTag/{CLUSTER_TAG}": scope.cluster_name,
                 "ec2:CreateAction": "CreateSecurityGroup"}}},
            {"Sid": "ManageSecurityGroupRulesInVpc", "Effect": "Allow",
             "Action": ["ec2:AuthorizeSecurityGroupIngress",
                        "ec2:RevokeSecurityGroupIngress"],
             "Resource": security_groups,
             "Condition": {"ArnEquals": {"ec2:Vpc": vpc}}},
            {"Sid": "ManageOwnSecurityGroups", "Effect": "Allow",
             "Action": ["ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags"],
             "Resource": security_groups, "Condition": owned},
            {"Sid": "CreateLoadBalancersOfAllowedScheme", "Effect": "Allow",
             "Action": "elasticloadbalancing:CreateLoadBalancer", "Resource": balancers,
             "Condition": {"StringEquals": {
                 f"aws:RequestTag/{CLUSTER_TAG}": scope.cluster_name,
                 "elasticloadbalancing:Scheme": sorted(s.value for s in scope.schemes)}}},
            {"Sid": "CreateTargetGroups", "Effect": "Allow",
             "Action": "elasticloadbalancing:CreateTargetGroup", "Resource": target_groups,
             "Condition": tagged_at_creation},
            {"Sid": "TagAtCreation", "Effect": "Allow",
             "Action": "elasticloadbalancing:AddTags", "Resource": [*balancers, target_groups],
             "Condition": {"StringEquals": {
                 f"aws:RequestTag/{CLUSTER_TAG}": scope.cluster_name,
                 "elasticloadbalancing:CreateAction": ["CreateTargetGroup",
                                                       "CreateLoadBalancer"]}}},
            {"Sid": "ManageOwnLoadBalancers", "Effect": "Allow",
             "Action": [*MODIFY_ACTIONS, "elasticloadbalancing:AddTags",
                        "elasticloadbalancing:RemoveTags"],
             "Resource": [*balancers, target_groups], "Condition": owned},
            {"Sid": "ManageListenersAndRules", "Effect": "Allow",
             "Action": [*LISTENER_ACTIONS, "elasticloadbalancing:AddTags",
                        "elasticloadbalancing:RemoveTags"],
             "Resource": [*balancers, *listeners]},
        ],
    }


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    """Inputs of LoadBalancerController, from validated config (mlplat.config.IngressConfig)."""

    cluster: PodIdentityCluster
    """The environment's cluster: the controller's Pod Identity role is associated with it."""
    vpc_id: pulumi.Input[str]
    """VPC the load balancers are created in; the IAM policy is scoped to it."""
    scheme: LoadBalancerScheme
    """`internal` (default) or `internet-facing` (an explicit, audited opt-in)."""
    ingress_class: str
    """IngressClass the controller serves (its IngressClassParams fix the scheme)."""
    inbound_cidrs: Sequence[str]
    """Sources an internet-facing load balancer admits (empty: the controller's default)."""
    group: str
    """Ingress group name: every Ingress of the class shares one ALB."""
    tags: Mapping[str, str]
    """Tags of the IAM role and policy."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Where the controller runs (the cluster's system nodes)."""


def controller_values(args: LoadBalancerControllerArgs, region: pulumi.Input[str]
                      ) -> dict[str, Any]:
    """Helm values of the controller chart."""
    return {
        "clusterName": args.cluster.cluster_name_output,
        "region": region,
        "vpcId": args.vpc_id,
        "image": {"repository": versions.AWS_LOAD_BALANCER_CONTROLLER_IMAGE.split(":")[0],
                  "tag": versions.AWS_LOAD_BALANCER_CONTROLLER_IMAGE.split(":")[1]},
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "replicaCount": 2,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "nodeSelector": dict(args.node_selector),
        "defaultLoadBalancerScheme": args.scheme.value,
        "defaultTargetType": "ip",
        # mlplat creates the IngressClass and its parameters itself (visible in the plan).
        "createIngressClassResource": False,
        "ingressClassParams": {"create": False},
        "enableServiceMutatorWebhook": True,
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,
        "defaultTags": dict(args.tags),
    }


def ingress_class_params(args: LoadBalancerControllerArgs) -> dict[str, Any]:
    """Spec of the IngressClassParams: what every Ingress of the class gets, whatever its
    annotations say."""
    spec: dict[str, Any] = {
        "scheme": args.scheme.value,
        "targetType": "ip",
        "ipAddressType": "ipv4",
        "group": {"name": args.group},
        # Only team namespaces' Ingresses may use the class.
        "namespaceSelector": {"matchExpressions": [
            {"key": "mlplat.io/team", "operator": "Exists"}]},
    }
    if args.inbound_cidrs:
        spec["inboundCIDRs"] = list(args.inbound_cidrs)
    return spec


class LoadBalancerController(pulumi.ComponentResource):
    """The AWS Load Balancer Controller, its Pod Identity role and the IngressClass."""

    ingress_class: str

    def __init__(
        self, name: str, args: LoadBalancerControllerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        where = account_context(pulumi.InvokeOutputOptions(parent=self))
        schemes = ([LoadBalancerScheme.INTERNAL] if args.scheme is LoadBalancerScheme.INTERNAL
                   else [LoadBalancerScheme.INTERNAL, LoadBalancerScheme.INTERNET_FACING])
        policy = pulumi.Output.all(where.partition, where.region, where.account,
                                   args.vpc_id).apply(
            lambda v: json.dumps(controller_policy(PolicyScope(
                partition=v[0], region=v[1], account=v[2],
                cluster_name=args.cluster.cluster_name, vpc_id=v[3], schemes=schemes))))
        association = pod_identity_role(
            self, name, args.cluster, NAMESPACE, SERVICE_ACCOUNT, policy=policy,
            tag=Tagger(args.tags, name), aws_account=where.account,
        )
        release = pinned_release(
            f"{name}-release", name="aws-load-balancer-controller",
            chart=versions.AWS_LOAD_BALANCER_CONTROLLER_CHART,
            version=versions.AWS_LOAD_BALANCER_CONTROLLER_VERSION,
            repository=versions.AWS_LOAD_BALANCER_CONTROLLER_REPOSITORY, namespace=NAMESPACE,
            values=controller_values(args, where.region),
            # Pods started before the association would get no credentials.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[association]),
        )
        params = k8s.apiextensions.CustomResource(
            f"{name}-class-params",
            api_version=versions.ELBV2_API_VERSION,
            kind="IngressClassParams",
            metadata={"name": args.ingress_class,
                      "labels": {"app.kubernetes.io/managed-by": "mlplat"}},
            spec=ingress_class_params(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )
        k8s.networking.v1.IngressClass(
            f"{name}-class",
            metadata={"name": args.ingress_class,
                      "labels": {"app.kubernetes.io/managed-by": "mlplat"}},
            spec={"controller": INGRESS_CONTROLLER,
                  "parameters": {"apiGroup": versions.ELBV2_API_VERSION.split("/")[0],
                                 "kind": "IngressClassParams",
                                 "name": args.ingress_class}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[params]),
        )
        self.ingress_class = args.ingress_class
        self.register_outputs({"ingress_class": self.ingress_class})
