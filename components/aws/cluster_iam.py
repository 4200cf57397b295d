"""IAM pieces of the Cluster component: managed-policy attachments and roles bound to one
service account through EKS Pod Identity. Children are parented to the Cluster component.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._lib.naming import Tagger, iam_name_prefix
from components._lib.policies import pod_identity_trust_policy


@dataclass(frozen=True)
class ClusterScope:
    """What the Cluster's child-building functions share: the component every child is
    parented to, the child name prefix, the EKS cluster name, the tagger and the partition."""

    parent: pulumi.ComponentResource
    prefix: str
    cluster_name: str
    tag: Tagger
    partition: pulumi.Output[str]

    def opts(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        """Options of a child: parented to the component, optionally ordered after others."""
        if depends_on is None:
            return pulumi.ResourceOptions(parent=self.parent)
        return pulumi.ResourceOptions(parent=self.parent, depends_on=depends_on)


def attach_managed_policy(
    scope: ClusterScope, resource_name: str, role: aws.iam.Role, policy: str, path: str = ""
) -> aws.iam.RolePolicyAttachment:
    """Attach the AWS managed policy `policy` (under `path`, e.g. `service-role/`)."""
    return aws.iam.RolePolicyAttachment(
        resource_name,
        role=role.name,
        policy_arn=pulumi.Output.concat("arn:", scope.partition, ":iam::aws:policy/", path, policy),
        opts=scope.opts(),
    )


def service_account_role(
    scope: ClusterScope, role_name: str, namespace: str, service_account: str
) -> aws.iam.Role:
    """`<prefix>-<role_name>-role`: an IAM role only one service account of this cluster
    can assume through EKS Pod Identity (no permissions yet)."""
    return aws.iam.Role(
        f"{scope.prefix}-{role_name}-role",
        name_prefix=iam_name_prefix(scope.cluster_name, role_name),
        description=f"{namespace}/{service_account} in {scope.cluster_name}",
        assume_role_policy=json.dumps(
            pod_identity_trust_policy(scope.cluster_name, namespace, service_account)
        ),
        tags=scope.tag(f"{role_name}-role"),
        opts=scope.opts(),
    )


def bind_service_account(
    scope: ClusterScope,
    role_name: str,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    role: aws.iam.Role,
    depends_on: list[pulumi.Resource],
) -> aws.eks.PodIdentityAssociation:
    """`<prefix>-<role_name>-pod-identity`, after the role's permissions (`depends_on`), so
    pods never start with a role that cannot do its job yet."""
    return aws.eks.PodIdentityAssociation(
        f"{scope.prefix}-{role_name}-pod-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=scope.tag(f"{role_name}-pod-identity"),
        opts=scope.opts(depends_on=depends_on),
    )


def pod_identity_role(
    scope: ClusterScope,
    role_name: str,
    cluster: aws.eks.Cluster,
    namespace: str,
    service_account: str,
    policy: str,
    policy_path: str = "",
) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    """An IAM role with one AWS managed policy, usable only by one service account of this
    cluster, bound to it through an EKS Pod Identity association. Returns both: callers
    order things after the association and may add inline policies to the role."""
    role = service_account_role(scope, role_name, namespace, service_account)
    attachment = attach_managed_policy(
        scope, f"{scope.prefix}-{role_name}-policy", role, policy, policy_path
    )
    association = bind_service_account(
        scope, role_name, cluster.name, namespace, service_account, role, [attachment]
    )
    return role, association


#: What the SSM agent needs for Session Manager shells and nothing more (AWS: "minimum
#: instance permissions for Session Manager"). Deliberately not AmazonSSMManagedInstanceCore:
#: that also grants `ssm:GetParameter(s)` on every parameter of the account, which any
#: process that reaches the node's credentials (a hostNetwork pod, say) could read.
SESSION_MANAGER_ACTIONS: tuple[str, ...] = (
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)


def session_manager_policy() -> dict[str, Any]:
    """Inline node-role policy of the `cluster.nodeSessionManager` opt-in. The actions take
    no resource-level scoping beyond the instance the agent runs on, hence `*`."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SessionManagerShellsOnly",
            "Effect": "Allow",
            "Action": list(SESSION_MANAGER_ACTIONS),
            "Resource": "*",
        }],
    }


def allow_session_manager(
    resource_name: str, role: aws.iam.Role, opts: pulumi.ResourceOptions
) -> aws.iam.RolePolicy:
    """The break-glass Session Manager permissions on a node role (opt-in)."""
    return aws.iam.RolePolicy(
        resource_name, role=role.id, policy=json.dumps(session_manager_policy()), opts=opts
    )
