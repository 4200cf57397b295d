"""Karpenter on EKS: the identity of the nodes it launches, the interruption queue, and the
controller (IAM role via Pod Identity, least-privilege policy, CRD and controller charts).

Everything here is a child of the calling component (GpuNodePools). The node pools
(EC2NodeClass + NodePool) of GPU pools (gpu_pools.py) and CPU pools (cpu_pools.py) are
declared by `declare_node_pool` below, so both kinds share one node class (pinned AMI,
IMDSv2 with hop limit 1, encrypted root volume) and one NodePool shape. The policy documents
are data in components/_lib/karpenter_iam.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components._lib import karpenter_iam
from components._lib.naming import Tagger
from components._lib.policies import pod_identity_trust_policy
from components.aws.cluster_iam import allow_session_manager
from mlplat.config import INTERRUPTION_QUEUE_SUFFIX

#: Namespace of the controller. Karpenter's docs recommend kube-system so the controller
#: shares the API priority level of other system components.
SYSTEM_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"

#: Managed policies of the node role. ECR pull-only is the narrower successor of
#: ECR read-only: nodes pull images and never need to list or describe repositories. No CNI
#: policy: the Cluster gives the VPC CNI its own role through Pod Identity, so ENI/IP
#: permissions are not shared with every process on a GPU node. No
#: AmazonSSMManagedInstanceCore: it lets anything holding the node's credentials read every
#: SSM parameter of the account; break-glass shells are the narrow `cluster.nodeSessionManager`
#: opt-in (components/aws/cluster_iam.py).
NODE_MANAGED_POLICIES: Mapping[str, str] = {
    "worker": "AmazonEKSWorkerNodePolicy",
    "ecr-pull": "AmazonEC2ContainerRegistryPullOnly",
}

#: Root device of the AL2023 AMI family (the volume the OS, images and containers live on).
ROOT_DEVICE = "/dev/xvda"

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
    session_manager: bool = False
    """Break-glass Session Manager permissions on the node role (`cluster.nodeSessionManager`)."""

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


    def node_pool_dependencies(self) -> list[pulumi.Resource]:
        """What EC2NodeClasses and NodePools wait for: on destroy they then go first, while
        Karpenter still runs to drain and terminate their nodes."""
        return [self.crds, self.controller, self.node_access, self.instance_profile]


@dataclass(frozen=True)
class NodePoolShape:
    """What distinguishes one Karpenter node pool (EC2NodeClass + NodePool) from another."""

    name: str
    disk_size_gib: int
    labels: Mapping[str, str]
    requirements: Sequence[Mapping[str, object]]
    taints: Sequence[Mapping[str, str]]
    expire_after: str
    limits: Mapping[str, object]
    consolidation_policy: str
    consolidate_after: str
    budget_nodes: str


def node_class_spec(
    shape: NodePoolShape,
    cluster_name: str,
    instance_profile: pulumi.Input[str],
    tags: Mapping[str, str],
) -> dict[str, object]:
    """EC2NodeClass spec shared by every pool."""
    discovery = {"tags": {"karpenter.sh/discovery": cluster_name}}
    return {
        # A pinned release, never @latest: a new AMI reaches nodes only through a
        # reviewed change of components/versions.py (Karpenter then drifts the nodes).
        "amiSelectorTerms": [{"alias": versions.AMI_ALIAS}],
        "instanceProfile": instance_profile,
        "subnetSelectorTerms": [discovery],
        "securityGroupSelectorTerms": [discovery],
        "associatePublicIPAddress": False,
        # IMDSv2 only, and one hop: containers (which sit one hop further away) cannot
        # reach the node's credentials; pods get theirs from Pod Identity.
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE,
                "ebs": {
                    "volumeSize": f"{shape.disk_size_gib}Gi",
                    "volumeType": "gp3",
                    "iops": 3000,
                    "throughput": 125,
                    # Encrypted with the account's aws/ebs key: the controller then needs
                    # no KMS grants, and the cluster's secrets key keeps one purpose.
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        "detailedMonitoring": False,
        "tags": {**tags, "mlplat.io/pool": shape.name},
    }


def node_pool_spec(shape: NodePoolShape) -> dict[str, object]:
    """NodePool spec referencing the pool's own EC2NodeClass."""
    return {
        "template": {
            "metadata": {"labels": dict(shape.labels)},
            "spec": {
                "nodeClassRef": {
                    "group": "karpenter.k8s.aws",
                    "kind": "EC2NodeClass",
                    "name": shape.name,
                },
                "requirements": [dict(r) for r in shape.requirements],
                "taints": [dict(t) for t in shape.taints],
                "expireAfter": shape.expire_after,
            },
        },
        "limits": dict(shape.limits),
        "disruption": {
            "consolidationPolicy": shape.consolidation_policy,
            "consolidateAfter": shape.consolidate_after,
            "budgets": [{"nodes": shape.budget_nodes}],
        },
    }


@dataclass(frozen=True)
class NodePoolTarget:
    """Where pools are declared: parent, child name prefix, cluster and its Karpenter."""

    parent: pulumi.ComponentResource
    prefix: str
    team: str
    cluster_name: str
    k8s_provider: k8s.Provider
    instance_profile: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource]
    tags: Mapping[str, str]


def declare_node_pool(target: NodePoolTarget, shape: NodePoolShape) -> None:
    """EC2NodeClass `<prefix>-<pool>-nodeclass` and NodePool `<prefix>-<pool>-nodepool`."""
    cr_opts = pulumi.ResourceOptions(
        parent=target.parent, provider=target.k8s_provider, depends_on=list(target.depends_on)
    )
    metadata = {"name": shape.name, "labels": {"mlplat.io/team": target.team}}
    node_class = k8s.apiextensions.CustomResource(
        f"{target.prefix}-{shape.name}-nodeclass",
        api_version="karpenter.k8s.aws/v1",
        kind="EC2NodeClass",
        metadata=metadata,
        spec=node_class_spec(shape, target.cluster_name, target.instance_profile, target.tags),
        opts=cr_opts,
    )
    k8s.apiextensions.CustomResource(
        f"{target.prefix}-{shape.name}-nodepool",
        api_version="karpenter.sh/v1",
        kind="NodePool",
        metadata=metadata,
        spec=node_pool_spec(shape),
        opts=pulumi.ResourceOptions.merge(
            cr_opts, pulumi.ResourceOptions(depends_on=[node_class])
        ),
    )


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
    if scope.session_manager:
        allow_session_manager(f"{scope.prefix}-node-session-manager", node_role, scope.aws_opts())
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
                # The chart's own image, stated so the plan shows what runs (by digest).
                "image": {
                    "repository": versions.KARPENTER_CONTROLLER_IMAGE_REPOSITORY,
                    "tag": versions.KARPENTER_VERSION,
                    "digest": versions.KARPENTER_CONTROLLER_IMAGE_DIGEST,
                },
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
