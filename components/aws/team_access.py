"""A team's access on AWS: how its people reach the cluster and what its workloads may do in
AWS. The in-cluster half (namespaces, RBAC, quotas, network policies, service accounts) is
components/k8s/tenancy.py.

* People: one EKS access entry (type STANDARD) for the team's IAM role, mapped to the team's
  Kubernetes group and to nothing else. There is deliberately no access policy association:
  what the group may do is decided by the namespaced Roles and RoleBindings of the tenancy
  component, which are visible in the plan, tested, and the same on a cluster without EKS
  (an OIDC group binds to the same Roles). `AmazonEKSEditPolicy` would add AWS-defined
  permissions on top (access policies and RBAC are additive), among them Kubernetes'
  `edit` role's `impersonate` on service accounts.
* Workloads: per configured service account that uses buckets, an IAM role trusted only by
  EKS Pod Identity for that cluster (source account and cluster ARN), namespace and service
  account, with an inline policy granting exactly the configured S3 actions on the configured
  buckets and prefixes, and use of the object store's key only through S3 for those buckets;
  plus the Pod Identity association.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._lib.errors import ComponentError
from components._lib.log_group import account_context
from components._lib.naming import Tagger, iam_name_prefix
from components._lib.policies import PolicyDocument, pod_identity_trust_policy
from components.k8s.tenancy import EgressAllowance
from mlplat.config import BucketAccessLevel, BucketGrantConfig

#: The EKS Pod Identity agent: a node-local endpoint on a link-local address that pods fetch
#: their role's credentials from. The only link-local destination a team pod may reach.
POD_IDENTITY_AGENT = EgressAllowance("pod-identity-agent", "169.254.170.23/32", 80)

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/team_access:TeamAccess"

#: S3 actions per access level, on objects and on the bucket. `s3:DeleteObject` in a
#: versioned bucket only adds a delete marker; permanent deletion (`DeleteObjectVersion`),
#: bucket configuration and ACLs are never granted.
OBJECT_ACTIONS: Mapping[BucketAccessLevel, tuple[str, ...]] = {
    BucketAccessLevel.READ: ("s3:GetObject", "s3:GetObjectVersion"),
    BucketAccessLevel.READ_WRITE: (
        "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
        "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    ),
}
BUCKET_ACTIONS: Mapping[BucketAccessLevel, tuple[str, ...]] = {
    BucketAccessLevel.READ: ("s3:GetBucketLocation",),
    BucketAccessLevel.READ_WRITE: ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads"),
}


@dataclass(frozen=True)
class ServiceAccountGrant:
    """A service account and the buckets (by purpose) it may use."""

    name: str
    namespace: str
    buckets: Mapping[str, BucketGrantConfig]


@dataclass(frozen=True)
class PodIdentityCluster:
    """The cluster Pod Identity roles of an environment are for."""

    environment: str
    """`<team>-<env>`; prefixes IAM role names."""
    cluster_name: str
    """EKS cluster name known up front (trust conditions)."""
    cluster_name_output: pulumi.Input[str]
    """The cluster's name output: access entries and associations wait for the cluster."""
    cluster_arn: pulumi.Input[str]


@dataclass(frozen=True)
class TeamAccessArgs:
    """Inputs of TeamAccess, from validated config (mlplat.config.TenancyConfig)."""

    cluster: PodIdentityCluster
    """The environment's cluster: access entry and Pod Identity associations."""
    team_role_arn: str
    """IAM role the team's people assume (`tenancy.teamRoleArn`)."""
    group: str
    """Kubernetes group the team role is mapped to."""
    service_accounts: Sequence[ServiceAccountGrant]
    """Service accounts that get an IAM role, with their bucket grants."""
    bucket_arns: pulumi.Input[Mapping[str, str]] | None
    """Purpose -> bucket ARN of the object store (None: no store; config then allows no
    bucket grants)."""
    store_key_arn: pulumi.Input[str] | None
    """KMS key of the object store (None: no store); roles with bucket grants may use it."""
    tags: Mapping[str, str]
    """Tags of the IAM roles."""


def _sid(*parts: str) -> str:
    """IAM statement ids are alphanumeric: `read`, `model-zoo` -> `ReadModelZoo`."""
    return "".join(word.capitalize() for part in parts for word in part.split("-"))


def bucket_access_policy(
    grants: Mapping[str, BucketGrantConfig],
    bucket_arns: Mapping[str, str],
    key_arn: str,
    region: str,
) -> PolicyDocument:
    """Identity policy of a service account's role: per granted bucket the listed S3 actions
    on the bucket (listing limited to the prefixes) and on its objects (under the prefixes),
    and the store key's `kms:Decrypt` (plus `kms:GenerateDataKey` if any grant writes) only
    through S3 in `region` and only for these buckets."""
    statements: list[dict[str, Any]] = []
    for purpose, grant in sorted(grants.items()):
        arn = bucket_arns[purpose]
        listing: dict[str, Any] = {
            "Sid": _sid("list", purpose), "Effect": "Allow", "Action": "s3:ListBucket",
            "Resource": arn,
        }
        if grant.prefixes:
            listing["Condition"] = {
                "StringLike": {"s3:prefix": [f"{p}*" for p in sorted(grant.prefixes)]}
            }
        statements += [
            listing,
            {"Sid": _sid("bucket", purpose), "Effect": "Allow",
             "Action": list(BUCKET_ACTIONS[grant.access]), "Resource": arn},
            {"Sid": _sid(grant.access.value, purpose), "Effect": "Allow",
             "Action": list(OBJECT_ACTIONS[grant.access]),
             "Resource": [f"{arn}/{p}*" for p in sorted(grant.prefixes)] or f"{arn}/*"},
        ]
    writes = any(g.access is BucketAccessLevel.READ_WRITE for g in grants.values())
    granted = sorted(bucket_arns[p] for p in grants)
    statements.append({
        "Sid": "UseStoreKeyThroughS3",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"] if writes else ["kms:Decrypt"],
        "Resource": key_arn,
        "Condition": {
            "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
            # With S3 Bucket Keys the encryption context is the bucket ARN; objects written
            # before Bucket Keys carry their own ARN.
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [
                pattern for arn in granted for pattern in (arn, f"{arn}/*")]},
        },
    })
    return {"Version": "2012-10-17", "Statement": statements}


class TeamAccess(pulumi.ComponentResource):
    """The team role's EKS access entry and the Pod Identity roles of its service accounts."""

    service_account_role_arns: pulumi.Output[dict[str, str]]
    """Service account name -> IAM role ARN (only accounts that use buckets)."""

    def __init__(
        self, name: str, args: TeamAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        tag = Tagger(args.tags, name)
        child = pulumi.ResourceOptions(parent=self)
        aws.eks.AccessEntry(
            f"{name}-team",
            cluster_name=args.cluster.cluster_name_output,
            principal_arn=args.team_role_arn,
            type="STANDARD",
            kubernetes_groups=[args.group],
            tags=tag("team"),
            opts=child,
        )
        where = account_context(pulumi.InvokeOutputOptions(parent=self))
        roles: dict[str, pulumi.Output[str]] = {}
        for account in args.service_accounts:
            if not account.buckets:
                continue
            if args.bucket_arns is None or args.store_key_arn is None:
                raise ComponentError(
                    f"mlplat:tenancy.serviceAccounts.{account.name}.buckets: no object store"
                )
            roles[account.name] = self._service_account_role(
                name, args, account, tag, where.account, where.region,
                args.bucket_arns, args.store_key_arn,
            )
        self.service_account_role_arns = pulumi.Output.all(**roles)
        self.register_outputs({"service_account_role_arns": self.service_account_role_arns})

    def _service_account_role(
        self,
        name: str,
        args: TeamAccessArgs,
        account: ServiceAccountGrant,
        tag: Tagger,
        aws_account: pulumi.Output[str],
        region: pulumi.Output[str],
        bucket_arns: pulumi.Input[Mapping[str, str]],
        key_arn: pulumi.Input[str],
    ) -> pulumi.Output[str]:
        association = pod_identity_role(
            self,
            name,
            args.cluster,
            account.namespace,
            account.name,
            policy=pulumi.Output.all(bucket_arns, key_arn, region).apply(
                lambda v: json.dumps(bucket_access_policy(account.buckets, v[0], v[1], v[2]))
            ),
            tag=tag,
            aws_account=aws_account,
        )
        arn: pulumi.Output[str] = association.role_arn
        return arn


def pod_identity_role(
    parent: pulumi.Resource,
    name: str,
    cluster: PodIdentityCluster,
    namespace: str,
    service_account: str,
    *,
    policy: pulumi.Input[str],
    tag: Tagger,
    aws_account: pulumi.Output[str],
) -> aws.eks.PodIdentityAssociation:
    """An IAM role trusted only by EKS Pod Identity for one service account in one namespace
    of `cluster`, its inline `policy` and the Pod Identity association, as children of
    `parent` named `<name>-sa-<service_account>-*`.
    Returns the association (workloads wait for it; `.role_arn` is the role). Shared by the
    team's service accounts and platform jobs."""
    role_name = f"sa-{service_account}"
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-{role_name}-role",
        name_prefix=iam_name_prefix(cluster.environment, role_name),
        description=f"{namespace}/{service_account} in {cluster.cluster_name} "
                    "(EKS Pod Identity)",
        assume_role_policy=pulumi.Output.all(aws_account, cluster.cluster_arn).apply(
            lambda v: json.dumps(pod_identity_trust_policy(
                cluster.cluster_name, namespace, service_account,
                account=v[0], cluster_arn=v[1],
            ))
        ),
        tags=tag(f"{role_name}-role"),
        opts=child,
    )
    role_policy = aws.iam.RolePolicy(
        f"{name}-{role_name}-policy", role=role.id, policy=policy, opts=child,
    )
    return aws.eks.PodIdentityAssociation(
        f"{name}-{role_name}-pod-identity",
        cluster_name=cluster.cluster_name_output,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=tag(f"{role_name}-pod-identity"),
        # Pods started before the policy exists would get credentials that can do nothing.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role_policy]),
    )
