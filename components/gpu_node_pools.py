"""GPU node pools: Karpenter on EKS, one NodePool per configured GPU pool, and the NVIDIA
device plugin so that pods can request `nvidia.com/gpu`.

What gets created (children of one `mlplat:gpu:GpuNodePools` component):

* IAM for nodes: a role for Karpenter-launched instances (EKS worker, CNI, ECR pull, SSM),
  the instance profile carrying it, and an EKS access entry of type EC2_LINUX so the nodes
  can join a cluster that authenticates through access entries only.
* Interruption handling: an SQS queue (SSE, TLS-only policy, senders limited to our rules)
  fed by EventBridge rules for spot interruptions, rebalance recommendations, instance state
  changes and AWS Health scheduled changes.
* The controller: an IAM role trusted by EKS Pod Identity for exactly Karpenter's service
  account, a least-privilege inline policy (components/_karpenter_iam.py), the Pod Identity
  association, and two Helm releases from Karpenter's OCI registry - the CRD chart (so that
  CRDs are upgraded with the controller, which plain chart CRDs never are) and the
  controller chart.
* Per pool: an EC2NodeClass (pinned AL2023 AMI alias, IMDSv2 with hop limit 1, encrypted gp3
  root volume sized from config, subnets and security groups found by the cluster's
  discovery tag) and a NodePool (instance requirements, capacity types, GPU taint, labels,
  `nvidia.com/gpu` limit, scale-to-zero consolidation, disruption budget, expiry).
* The NVIDIA device plugin DaemonSet, tolerating the GPU taint and pinned to NVIDIA nodes.

An empty `pools` list still installs the controller and the device plugin: the cluster is
then ready for NodePools added later (or by another stack on a shared cluster) and the
outputs keep their types. Leave the component out entirely for a cluster without GPUs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import _karpenter_iam as iam_docs
from components import _versions as versions
from components.cluster import pod_identity_trust_policy
from components.network import Tagger
from mlplat.config import GpuPoolConfig

#: Namespace of the controller and the device plugin. Karpenter's docs recommend kube-system
#: so the controller shares the API priority level of other system components.
SYSTEM_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"

#: The taint every GPU node carries, so only pods that tolerate it (i.e. asked for GPUs)
#: land on expensive nodes.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}

#: Managed policies of the node role. ECR pull-only is the narrower successor of
#: ECR read-only: nodes pull images and never need to list or describe repositories. No CNI
#: policy: the Cluster gives the VPC CNI its own role through Pod Identity, so ENI/IP
#: permissions are not shared with every process on a GPU node. SSM core gives operators
#: Session Manager access to nodes instead of SSH keys.
NODE_MANAGED_POLICIES: dict[str, str] = {
    "worker": "AmazonEKSWorkerNodePolicy",
    "ecr-pull": "AmazonEC2ContainerRegistryPullOnly",
    "ssm": "AmazonSSMManagedInstanceCore",
}

#: Node label of the Cluster's system node group (components/cluster.py); the controller
#: runs there, never on nodes it manages itself.
SYSTEM_NODE_SELECTOR = {"mlplat.io/node-role": "system", "kubernetes.io/os": "linux"}

#: Root device of the AL2023 AMI family (the volume the OS, images and containers live on).
ROOT_DEVICE = "/dev/xvda"

_CLUSTER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,69}$")
_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")

#: Tag keys Karpenter sets itself and refuses in EC2NodeClass.spec.tags.
_RESERVED_TAG_PREFIXES = (
    "kubernetes.io/cluster/",
    "karpenter.sh/nodepool",
    "karpenter.sh/nodeclaim",
    "karpenter.k8s.aws/ec2nodeclass",
    "eks:eks-cluster-name",
    "aws:",
)


@dataclass(frozen=True)
class GpuNodePoolsArgs:
    """Inputs of GpuNodePools. Cross-field rules are checked on construction."""

    pools: Sequence[GpuPoolConfig]
    """GPU pools from config; one Karpenter NodePool (and EC2NodeClass) each. May be empty."""
    team: str
    """Owning team; becomes the `mlplat.io/team` node label."""
    cluster_name: str
    """Cluster name known up front (`<team>-<env>`): discovery tags and IAM conditions."""
    cluster_name_output: pulumi.Input[str]
    """The Cluster's name output; using it makes everything here wait for the cluster."""
    cluster_endpoint: pulumi.Input[str]
    """API server endpoint, handed to Karpenter to skip endpoint discovery at start-up."""
    k8s_provider: k8s.Provider
    """Provider of the target cluster; every Kubernetes resource here uses it explicitly."""
    kms_key_arn: pulumi.Input[str]
    """The cluster's KMS key. Not used for node volumes (see `encrypted` in the EC2NodeClass):
    they use the account's aws/ebs key, so the controller needs no KMS grants and the secrets
    key keeps one purpose. Accepted for interface stability."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource and on every instance and volume Karpenter launches."""

    def __post_init__(self) -> None:
        errors: list[str] = []
        if not _DNS_LABEL.match(self.team):
            errors.append(f"team: {self.team!r} is not a DNS label")
        if not _CLUSTER_NAME.match(self.cluster_name):
            errors.append(
                f"cluster_name: {self.cluster_name!r} must start with a letter, hold only "
                "letters, digits and '-', and be at most 70 characters (the SQS queue name "
                "adds '-karpenter' within SQS's 80)"
            )
        seen: dict[str, int] = {}
        for index, pool in enumerate(self.pools):
            if not isinstance(pool, GpuPoolConfig):
                errors.append(f"pools[{index}]: expected GpuPoolConfig, got {type(pool).__name__}")
                continue
            if pool.name in seen:
                errors.append(
                    f"pools[{index}].name: {pool.name!r} duplicates pools[{seen[pool.name]}].name "
                    "(NodePool names are cluster-wide)"
                )
            seen.setdefault(pool.name, index)
        for key in self.tags:
            if key.startswith(_RESERVED_TAG_PREFIXES):
                errors.append(
                    f"tags[{key!r}]: reserved - Karpenter or AWS sets this tag on launched "
                    "instances and rejects it in EC2NodeClass.spec.tags"
                )
        if errors:
            raise ValueError("GpuNodePoolsArgs: " + "; ".join(errors))


def node_labels(pool: GpuPoolConfig, team: str) -> dict[str, str]:
    """Labels every node of a pool carries; Kueue flavors and workloads select on them."""
    return {
        "mlplat.io/pool": pool.name,
        "mlplat.io/accelerator": pool.accelerator.value,
        "mlplat.io/team": team,
        "mlplat.io/purpose": pool.purpose.value,
    }


def pool_requirements(pool: GpuPoolConfig) -> list[dict[str, object]]:
    """Karpenter scheduling requirements of a pool.

    Karpenter ANDs requirements, while config means "these types OR these families". With
    only families (or only types) the requirement says exactly that; with both, the union is
    expanded from the instance catalog into one instance-type requirement.
    """
    requirements: list[dict[str, object]] = []
    if pool.instance_families and not pool.instance_types:
        requirements.append({
            "key": "karpenter.k8s.aws/instance-family",
            "operator": "In",
            "values": sorted(pool.instance_families),
        })
    else:
        requirements.append({
            "key": "node.kubernetes.io/instance-type",
            "operator": "In",
            "values": [t.name for t in pool.candidate_instance_types()],
        })
    requirements += [
        {
            # Belt and braces: even a family that later gains other GPUs stays on the
            # declared accelerator.
            "key": "karpenter.k8s.aws/instance-gpu-name",
            "operator": "In",
            "values": [pool.accelerator.value],
        },
        {
            "key": "karpenter.sh/capacity-type",
            "operator": "In",
            "values": sorted(c.value for c in pool.capacity_types),
        },
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]
    return requirements


class GpuNodePools(pulumi.ComponentResource):
    """Karpenter-managed GPU node pools on an EKS cluster."""

    node_role_arn: pulumi.Output[str]
    controller_role_arn: pulumi.Output[str]
    interruption_queue_url: pulumi.Output[str]
    node_pool_names: list[str]

    def __init__(
        self, name: str, args: GpuNodePoolsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:gpu:GpuNodePools", name, None, opts)
        self._args = args
        tag = Tagger(args.tags, name)
        aws_opts = pulumi.ResourceOptions(parent=self)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        invoke_opts = pulumi.InvokeOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke_opts).partition
        region = aws.get_region_output(opts=invoke_opts).region
        account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id

        # ---------------------------------------------------------------- node identity
        node_role = aws.iam.Role(
            f"{name}-node-role",
            description=f"Karpenter-launched GPU nodes of {args.cluster_name}",
            assume_role_policy=json.dumps(iam_docs.node_trust_policy()),
            tags=tag("node-role"),
            opts=aws_opts,
        )
        for role, policy in NODE_MANAGED_POLICIES.items():
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{role}",
                role=node_role.name,
                policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy),
                opts=aws_opts,
            )
        # Created here rather than by Karpenter: the controller then needs no IAM write
        # permissions at all, only read access to this one profile.
        instance_profile = aws.iam.InstanceProfile(
            f"{name}-node-profile", role=node_role.name, tags=tag("node-profile"), opts=aws_opts
        )
        # The cluster authenticates through access entries only (no aws-auth ConfigMap);
        # EC2_LINUX maps the role to system:nodes so kubelets can register.
        node_access = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=args.cluster_name_output,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            tags=tag("node-access"),
            opts=aws_opts,
        )

        # ------------------------------------------------------- interruption handling
        queue = aws.sqs.Queue(
            f"{name}-interruption-queue",
            name=f"{args.cluster_name}-karpenter",
            # Interruption notices are useless after the two-minute spot warning.
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=tag("interruption-queue"),
            opts=aws_opts,
        )
        rules = []
        for event, pattern in iam_docs.INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                description=f"Karpenter interruption handling ({event}) for {args.cluster_name}",
                event_pattern=json.dumps(pattern),
                tags=tag(event),
                opts=aws_opts,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}-target",
                rule=rule.name,
                arn=queue.arn,
                opts=aws_opts,
            )
            rules.append(rule)
        aws.sqs.QueuePolicy(
            f"{name}-interruption-queue-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *[r.arn for r in rules]).apply(
                lambda arns: json.dumps(iam_docs.interruption_queue_policy(arns[0], arns[1:]))
            ),
            opts=aws_opts,
        )

        # ------------------------------------------------------------------ controller
        controller_role = aws.iam.Role(
            f"{name}-controller-role",
            description=f"Karpenter controller of {args.cluster_name} (EKS Pod Identity)",
            # Same narrowing as the Cluster's add-on roles: only this cluster's
            # kube-system/karpenter service account may assume it.
            assume_role_policy=json.dumps(
                pod_identity_trust_policy(
                    args.cluster_name, SYSTEM_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
                )
            ),
            tags=tag("controller-role"),
            opts=aws_opts,
        )
        aws.iam.RolePolicy(
            f"{name}-controller-policy",
            role=controller_role.id,
            policy=pulumi.Output.all(
                partition, region, account_id, node_role.arn, instance_profile.arn, queue.arn
            ).apply(
                lambda v: json.dumps(
                    iam_docs.controller_policy(
                        iam_docs.ControllerScope(
                            partition=v[0],
                            region=v[1],
                            account_id=v[2],
                            cluster_name=args.cluster_name,
                            node_role_arn=v[3],
                            instance_profile_arn=v[4],
                            queue_arn=v[5],
                        )
                    )
                )
            ),
            opts=aws_opts,
        )
        pod_identity = aws.eks.PodIdentityAssociation(
            f"{name}-controller-pod-identity",
            cluster_name=args.cluster_name_output,
            namespace=SYSTEM_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT,
            role_arn=controller_role.arn,
            tags=tag("controller-pod-identity"),
            opts=aws_opts,
        )

        crds = k8s.helm.v3.Release(
            f"{name}-karpenter-crd",
            name="karpenter-crd",
            chart=versions.KARPENTER_CRD_CHART,
            version=versions.KARPENTER_VERSION,
            namespace=SYSTEM_NAMESPACE,
            values={},
            max_history=10,
            opts=k8s_opts,
        )
        karpenter = k8s.helm.v3.Release(
            f"{name}-karpenter",
            name="karpenter",
            chart=versions.KARPENTER_CHART,
            version=versions.KARPENTER_VERSION,
            namespace=SYSTEM_NAMESPACE,
            # CRDs belong to the karpenter-crd release, which Helm does upgrade.
            skip_crds=True,
            values={
                "settings": {
                    "clusterName": args.cluster_name_output,
                    "clusterEndpoint": args.cluster_endpoint,
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
                k8s_opts, pulumi.ResourceOptions(depends_on=[crds, pod_identity])
            ),
        )

        # ----------------------------------------------------------- pools (CRs)
        # NodeClasses and NodePools depend on the controller release, so on destroy they go
        # first and Karpenter is still running to drain and terminate their nodes.
        cr_opts = pulumi.ResourceOptions.merge(
            k8s_opts,
            pulumi.ResourceOptions(depends_on=[crds, karpenter, node_access, instance_profile]),
        )
        for pool in args.pools:
            node_class = k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}-nodeclass",
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata={"name": pool.name, "labels": {"mlplat.io/team": args.team}},
                spec=self._node_class_spec(pool, instance_profile.name),
                opts=cr_opts,
            )
            k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}-nodepool",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata={"name": pool.name, "labels": {"mlplat.io/team": args.team}},
                spec=self._node_pool_spec(pool),
                opts=pulumi.ResourceOptions.merge(
                    cr_opts, pulumi.ResourceOptions(depends_on=[node_class])
                ),
            )

        # -------------------------------------------------------- NVIDIA device plugin
        # The AL2023 NVIDIA AMI already ships the driver and the container toolkit, so the
        # device plugin (advertise GPUs to the kubelet) is all that is missing; the GPU
        # Operator would add a second, competing driver/toolkit manager to every node.
        k8s.helm.v3.Release(
            f"{name}-nvidia-device-plugin",
            name="nvidia-device-plugin",
            chart=versions.NVIDIA_DEVICE_PLUGIN_CHART,
            version=versions.NVIDIA_DEVICE_PLUGIN_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(
                repo=versions.NVIDIA_DEVICE_PLUGIN_REPOSITORY
            ),
            namespace=SYSTEM_NAMESPACE,
            values=device_plugin_values(),
            max_history=10,
            opts=k8s_opts,
        )

        self.node_role_arn = node_role.arn
        self.controller_role_arn = controller_role.arn
        self.interruption_queue_url = queue.url
        self.node_pool_names = [pool.name for pool in args.pools]
        self.register_outputs(
            {
                "node_role_arn": self.node_role_arn,
                "controller_role_arn": self.controller_role_arn,
                "interruption_queue_url": self.interruption_queue_url,
                "node_pool_names": self.node_pool_names,
            }
        )

    def _node_class_spec(
        self, pool: GpuPoolConfig, instance_profile: pulumi.Output[str]
    ) -> dict[str, object]:
        discovery = {"tags": {"karpenter.sh/discovery": self._args.cluster_name}}
        return {
            # A pinned release, never @latest: a new AMI reaches nodes only through a
            # reviewed change of components/_versions.py (Karpenter then drifts the nodes).
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
                        "volumeSize": f"{pool.disk_size_gib}Gi",
                        "volumeType": "gp3",
                        "iops": 3000,
                        "throughput": 125,
                        # Encrypted with the account's aws/ebs key (see kms_key_arn).
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
            "detailedMonitoring": False,
            "tags": {**self._args.tags, "mlplat.io/pool": pool.name},
        }

    def _node_pool_spec(self, pool: GpuPoolConfig) -> dict[str, object]:
        return {
            "template": {
                "metadata": {"labels": node_labels(pool, self._args.team)},
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": pool.name,
                    },
                    "requirements": pool_requirements(pool),
                    "taints": [dict(GPU_TAINT)],
                    "expireAfter": pool.expire_after,
                },
            },
            "limits": {"nvidia.com/gpu": pool.gpu_limit},
            "disruption": {
                # WhenEmpty: a node is removed once no (non-daemon) pod runs on it, so idle GPU
                # nodes scale to zero, but a running job is never moved to repack nodes.
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": pool.consolidate_after,
                "budgets": [{"nodes": pool.disruption_budget_nodes}],
            },
        }


def device_plugin_values() -> dict[str, object]:
    """Helm values of the NVIDIA device plugin.

    The chart's default affinity waits for Node Feature Discovery labels that nothing on this
    cluster sets; select NVIDIA nodes by Karpenter's well-known GPU label instead (or by
    NVIDIA's own opt-in label for GPU nodes from elsewhere).
    """
    return {
        "tolerations": [
            {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{
                            "key": "karpenter.k8s.aws/instance-gpu-manufacturer",
                            "operator": "In",
                            "values": ["nvidia"],
                        }]},
                        {"matchExpressions": [{
                            "key": "nvidia.com/gpu.present",
                            "operator": "In",
                            "values": ["true"],
                        }]},
                    ]
                }
            }
        },
        "priorityClassName": "system-node-critical",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "gfd": {"enabled": False},
    }
