"""Karpenter on EKS: the identity of the nodes it launches, the interruption queue, and the
controller (IAM role via Pod Identity, least-privilege policy, CRD and controller charts).

Everything here is a child of the calling component (GpuNodePools); the node pools
themselves (EC2NodeClass, NodePool) are built in gpu_pools.py. The policy documents are data
in components/_lib/karpenter_iam.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components._lib import karpenter_iam
from components._lib.naming import Tagger
from components._lib.policies import pod_identity_trust_policy
from mlplat.config import INTERRUPTION_QUEUE_SUFFIX

#: Namespace of the controller. Karpenter's docs recommend kube-system so the controller
#: shares the API priority level of other system components.
SYSTEM_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"

#: Managed policies of the node role. ECR pull-only is the narrower successor of
#: ECR read-only: nodes pull images and never need to list or describe repositories. No CNI
#: policy: the Cluster gives the VPC CNI its own role through Pod Identity, so ENI/IP
#: permissions are not shared with every process on a GPU node. SSM core gives operators
#: Session Manager access to nodes instead of SSH keys.
NODE_MANAGED_POLICIES: Mapping[str, str] = {
    "worker": "AmazonEKSWorkerNodePolicy",
    "ecr-pull": "AmazonEC2ContainerRegistryPullOnly",
    "ssm": "AmazonSSMManagedInstanceCore",
}

#: Node label of the Cluster's system node group (components/aws/system_nodes.py); the
#: controller runs there, never on nodes it manages itself.
SYSTEM_NODE_SELECTOR: Mapping[str, str] = {
    "mlplat.io/node-role": "system",
    "kubernetes.io/os": "linux",
}


@dataclass(frozen=True)
class KarpenterScope:
    """The parent component, its child name prefix and tagger, and the cluster Karpenter
    serves."""

    parent: pulumi.ComponentResource
    prefix: str
    tag: Tagger
    cluster_name: str
    cluster_name_output: pulumi.Input[str]
    cluster_endpoint: pulumi.Input[str]
    k8s_provider: k8s.Provider

    def aws_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent)

    def k8s_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent, provider=self.k8s_provider)


@dataclass(frozen=True)
class Karpenter:
    """Handles the node pools and the component outputs need."""

    node_role: aws.iam.Role
    instance_profile: aws.iam.InstanceProfile
    node_access: aws.eks.AccessEntry
    queue: aws.sqs.Queue
    controller_role: aws.iam.Role
    crds: k8s.helm.v3.Release
    controller: k8s.helm.v3.Release


def install_karpenter(scope: KarpenterScope) -> Karpenter:
    """Node identity, interruption queue and controller, in that order."""
    invoke_opts = pulumi.InvokeOptions(parent=scope.parent)
    partition = aws.get_partition_output(opts=invoke_opts).partition
    region = aws.get_region_output(opts=invoke_opts).region
    account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id
    node_role, instance_profile, node_access = _node_identity(scope, partition)
    queue = _interruption_queue(scope)
    controller_role, crds, controller = _controller(
        scope, partition, region, account_id, node_role, instance_profile, queue
    )
    return Karpenter(
        node_role=node_role,
        instance_profile=instance_profile,
        node_access=node_access,
        queue=queue,
        controller_role=controller_role,
        crds=crds,
        controller=controller,
    )


def _node_identity(
    scope: KarpenterScope, partition: pulumi.Output[str]
) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, aws.eks.AccessEntry]:
    """Role, instance profile and EC2_LINUX access entry of Karpenter-launched nodes."""
    node_role = aws.iam.Role(
        f"{scope.prefix}-node-role",
        description=f"Karpenter-launched GPU nodes of {scope.cluster_name}",
        assume_role_policy=json.dumps(karpenter_iam.node_trust_policy()),
        tags=scope.tag("node-role"),
        opts=scope.aws_opts(),
    )
    for role, policy in NODE_MANAGED_POLICIES.items():
        aws.iam.RolePolicyAttachment(
            f"{scope.prefix}-node-{role}",
            role=node_role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy),
            opts=scope.aws_opts(),
        )
    # Created here rather than by Karpenter: the controller then needs no IAM write
    # permissions at all, only read access to this one profile.
    instance_profile = aws.iam.InstanceProfile(
        f"{scope.prefix}-node-profile",
        role=node_role.name,
        tags=scope.tag("node-profile"),
        opts=scope.aws_opts(),
    )
    # The cluster authenticates through access entries only (no aws-auth ConfigMap);
    # EC2_LINUX maps the role to system:nodes so kubelets can register.
    node_access = aws.eks.AccessEntry(
        f"{scope.prefix}-node-access",
        cluster_name=scope.cluster_name_output,
        principal_arn=node_role.arn,
        type="EC2_LINUX",
        tags=scope.tag("node-access"),
        opts=scope.aws_opts(),
    )
    return node_role, instance_profile, node_access


def _interruption_queue(scope: KarpenterScope) -> aws.sqs.Queue:
    """SQS queue (SSE, TLS-only, senders limited to our rules) fed by EventBridge rules for
    spot interruptions, rebalance recommendations, state changes and scheduled changes."""
    queue = aws.sqs.Queue(
        f"{scope.prefix}-interruption-queue",
        name=f"{scope.cluster_name}{INTERRUPTION_QUEUE_SUFFIX}",
        # Interruption notices are useless after the two-minute spot warning.
        message_retention_seconds=300,
        sqs_managed_sse_enabled=True,
        tags=scope.tag("interruption-queue"),
        opts=scope.aws_opts(),
    )
    rules: list[aws.cloudwatch.EventRule] = []
    for event, pattern in karpenter_iam.INTERRUPTION_EVENTS.items():
        rule = aws.cloudwatch.EventRule(
            f"{scope.prefix}-{event}",
            description=f"Karpenter interruption handling ({event}) for {scope.cluster_name}",
            event_pattern=json.dumps(pattern),
            tags=scope.tag(event),
            opts=scope.aws_opts(),
        )
        aws.cloudwatch.EventTarget(
            f"{scope.prefix}-{event}-target",
            rule=rule.name,
            arn=queue.arn,
            opts=scope.aws_opts(),
        )
        rules.append(rule)
    aws.sqs.QueuePolicy(
        f"{scope.prefix}-interruption-queue-policy",
        queue_url=queue.url,
        policy=pulumi.Output.all(queue.arn, *[r.arn for r in rules]).apply(
            lambda arns: json.dumps(karpenter_iam.interruption_queue_policy(arns[0], arns[1:]))
        ),
        opts=scope.aws_opts(),
    )
    return queue


def _controller(
    scope: KarpenterScope,
    partition: pulumi.Output[str],
    region: pulumi.Output[str],
    account_id: pulumi.Output[str],
    node_role: aws.iam.Role,
    instance_profile: aws.iam.InstanceProfile,
    queue: aws.sqs.Queue,
) -> tuple[aws.iam.Role, k8s.helm.v3.Release, k8s.helm.v3.Release]:
    """Controller role (Pod Identity, least privilege), CRD chart and controller chart."""
    controller_role = aws.iam.Role(
        f"{scope.prefix}-controller-role",
        description=f"Karpenter controller of {scope.cluster_name} (EKS Pod Identity)",
        # Same narrowing as the Cluster's add-on roles: only this cluster's
        # kube-system/karpenter service account may assume it.
        assume_role_policy=json.dumps(
            pod_identity_trust_policy(
                scope.cluster_name, SYSTEM_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
            )
        ),
        tags=scope.tag("controller-role"),
        opts=scope.aws_opts(),
    )
    aws.iam.RolePolicy(
        f"{scope.prefix}-controller-policy",
        role=controller_role.id,
        policy=pulumi.Output.all(
            partition, region, account_id, node_role.arn, instance_profile.arn, queue.arn
        ).apply(
            lambda v: json.dumps(
                karpenter_iam.controller_policy(
                    karpenter_iam.ControllerScope(
                        partition=v[0],
                        region=v[1],
                        account_id=v[2],
                        cluster_name=scope.cluster_name,
                        node_role_arn=v[3],
                        instance_profile_arn=v[4],
                        queue_arn=v[5],
                    )
                )
            )
        ),
        opts=scope.aws_opts(),
    )
    pod_identity = aws.eks.PodIdentityAssociation(
        f"{scope.prefix}-controller-pod-identity",
        cluster_name=scope.cluster_name_output,
        namespace=SYSTEM_NAMESPACE,
        service_account=KARPENTER_SERVICE_ACCOUNT,
        role_arn=controller_role.arn,
        tags=scope.tag("controller-pod-identity"),
        opts=scope.aws_opts(),
    )

    crds = k8s.helm.v3.Release(
        f"{scope.prefix}-karpenter-crd",
        name="karpenter-crd",
        chart=versions.KARPENTER_CRD_CHART,
        version=versions.KARPENTER_VERSION,
        namespace=SYSTEM_NAMESPACE,
        values={},
        max_history=10,
        opts=scope.k8s_opts(),
    )
    karpenter = k8s.helm.v3.Release(
        f"{scope.prefix}-karpenter",
        name="karpenter",
        chart=versions.KARPENTER_CHART,
        version=versions.KARPENTER_VERSION,
        namespace=SYSTEM_NAMESPACE,
        # CRDs belong to the karpenter-crd release, which Helm does upgrade.
        skip_crds=True,
        values={
            "settings": {
                "clusterName": scope.cluster_name_output,
                "clusterEndpoint": scope.cluster_endpoint,
                "interruptionQueue": queue.name,
            },
            # Pod Identity needs no role annotation; the association names this account.
            "serviceAccount": {"create": True, "name": KARPENTER_SERVICE_ACCOUNT},
            "replicas": 2,
            "nodeSelector": dict(SYSTEM_NODE_SELECTOR),
            "controller": {
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"memory": "1Gi"},
                }
            },
        },
        max_history=10,
        # The association must exist before the pods start, or they get no credentials.
        opts=pulumi.ResourceOptions.merge(
            scope.k8s_opts(), pulumi.ResourceOptions(depends_on=[crds, pod_identity])
        ),
    )
    return controller_role, crds, karpenter
