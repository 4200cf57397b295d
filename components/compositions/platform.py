"""The platform stack: a shared cluster and RDS instance that shared-mode team stacks land
on (ADR 0008), and what those stacks read from it.

`PlatformEnvironment` builds the cluster side of a team environment (network, EKS, node
pools, storage, the metadata database: `TeamEnvironment` without tenancy or MLflow, which
config refuses on a platform) plus the platform namespace tenants' database setup Jobs run
in. Cluster-wide layers (monitoring, queues, ...) are one more constructor call each in
`__init__`, on `self.k8s_provider`.

`platform_outputs` is what the platform exports for its tenants; `PlatformReference`
reads the same names back through a Pulumi `StackReference`. One list of names,
`PLATFORM_OUTPUTS`, keeps both sides in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components.aws.metadata_db import POSTGRES_PORT
from components.aws.mlflow_db import platform_namespace
from components.aws.team_access import POD_IDENTITY_AGENT
from components.compositions.aws import TeamEnvironment, TeamEnvironmentArgs
from components.k8s.tenancy import EgressAllowance, fence_policy_specs
from mlplat.config import EnvironmentConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:compositions/platform:PlatformEnvironment"

#: Stack outputs a platform exports for its tenants (beyond a team environment's own).
#: `kubeconfig` is exported as a secret and stays one in every referencing stack.
PLATFORM_OUTPUTS: Final = (
    "cluster_name", "cluster_arn", "kubeconfig", "kubernetes_version", "vpc_cidr",
    "setup_namespace", "metadata_db_address", "metadata_db_port",
    "metadata_db_master_username", "metadata_db_secret_arn", "metadata_db_kms_key_arn",
)
SECRET_PLATFORM_OUTPUTS: Final = frozenset({"kubeconfig"})


@dataclass(frozen=True)
class PlatformEnvironmentArgs:
    """Inputs of a PlatformEnvironment."""

    environment: TeamEnvironmentArgs
    """The cluster side's inputs; its config is that of a stack with `mlplat:platform`
    (config guarantees a metadata database and no tenancy or MLflow)."""


class PlatformEnvironment(pulumi.ComponentResource):
    """The shared cluster, node pools, storage and RDS instance, and the namespace where
    tenants' database setup Jobs read the RDS master secret."""

    environment: TeamEnvironment
    k8s_provider: k8s.Provider
    setup_namespace: k8s.core.v1.Namespace

    def __init__(self, name: str, args: PlatformEnvironmentArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        config = args.environment.config
        assert config.platform is not None and config.metadata_db is not None
        self.environment = TeamEnvironment(name, args.environment,
                                           pulumi.ResourceOptions(parent=self))
        self.k8s_provider = self.environment.cluster.k8s_provider
        on_cluster = pulumi.ResourceOptions(parent=self, providers=[self.k8s_provider])
        # Tenants add their Job, its service account and fence policies here; the
        # namespace itself is the platform's, so no tenant can delete it for the others.
        self.setup_namespace = platform_namespace(
            f"{name}-setup-namespace", config.platform.setup_namespace,
            config.cluster.kubernetes_version, on_cluster)
        # Fenced once, here, for every tenant's Job: DNS, HTTPS (Secrets Manager), the Pod
        # Identity agent and the database; nothing else, no ingress.
        egress = (POD_IDENTITY_AGENT,
                  EgressAllowance("metadata-db", config.network.vpc_cidr, POSTGRES_PORT))
        for policy_name, spec in fence_policy_specs(egress).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-setup-{policy_name}",
                metadata={"name": policy_name, "namespace": self.setup_namespace.metadata.name,
                          "labels": {"app.kubernetes.io/managed-by": "mlplat"}},
                spec=spec, opts=on_cluster)
        self.register_outputs({"setup_namespace": self.setup_namespace.metadata.name})

    def outputs(self, config: EnvironmentConfig) -> dict[str, pulumi.Output[Any]]:
        """`PLATFORM_OUTPUTS` by name, for the stack program to export."""
        cluster, db = self.environment.cluster, self.environment.metadata_db
        assert db is not None
        values: dict[str, Any] = {
            "cluster_name": cluster.name,
            "cluster_arn": cluster.arn,
            "kubeconfig": pulumi.Output.secret(cluster.kubeconfig),
            "kubernetes_version": config.cluster.kubernetes_version,
            "vpc_cidr": config.network.vpc_cidr,
            "setup_namespace": self.setup_namespace.metadata.name,
            "metadata_db_address": db.address,
            "metadata_db_port": db.port,
            "metadata_db_master_username": db.master_username,
            "metadata_db_secret_arn": db.master_user_secret_arn,
            "metadata_db_kms_key_arn": db.kms_key_arn,
        }
        assert tuple(values) == PLATFORM_OUTPUTS
        return {key: pulumi.Output.from_input(value) for key, value in values.items()}


@dataclass(frozen=True)
class PlatformReference:
    """A platform's deploy-time outputs, read through a StackReference by a tenant stack."""

    reference: pulumi.StackReference
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Secret: it stays secret in the tenant's plan and state."""
    setup_namespace: pulumi.Output[str]
    metadata_db_address: pulumi.Output[str]
    metadata_db_port: pulumi.Output[int]
    metadata_db_secret_arn: pulumi.Output[str]
    metadata_db_kms_key_arn: pulumi.Output[str]

    @classmethod
    def read(cls, name: str, stack: str, opts: pulumi.ResourceOptions) -> PlatformReference:
        """A StackReference `name` to `stack` and the outputs tenants use."""
        reference = pulumi.StackReference(name, stack_name=stack, opts=opts)
        fields = [f for f in cls.__dataclass_fields__ if f != "reference"]
        return cls(reference, **{f: reference.require_output(f) for f in fields})
