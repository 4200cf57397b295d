"""The `mlplat:serving` layer: KServe in RawDeployment mode (no Knative, no Istio), its model
server runtimes, disruption and autoscaling defaults, and how traffic enters.

Off when absent; `{}` gives the defaults. Ingress on AWS goes through the AWS Load Balancer
Controller with an internal load balancer; an internet-facing one is an explicit opt-in
(`ingress.scheme: internet-facing` with an allow-list) that the audit reports. Elsewhere
(on-prem) KServe uses an ingress controller that already exists, named by its IngressClass.
Rules that span layers (serving namespaces exist in tenancy, prod) live in `check_serving`,
called from environment.py. Design: docs/components/serving.md,
docs/adr/0017-kserve-raw-deployment-and-internal-ingress.md.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from mlplat.config import cidrs
from mlplat.config.base import _Model
from mlplat.config.tenancy import NamespacePurpose, TenancyConfig

# An ingress domain: DNS labels separated by dots (fullmatch).
_DOMAIN = re.compile(r"(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# An IngressClass name (a DNS subdomain, kept to one label here).
_CLASS = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class ModelRuntime(StrEnum):
    """Model servers mlplat installs as ClusterServingRuntimes."""

    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    TRITON = "triton"
    VLLM = "vllm"


class IngressController(StrEnum):
    """Which controller serves KServe's Ingresses."""

    AWS_LOAD_BALANCER = "aws-load-balancer"
    """The AWS Load Balancer Controller, installed by mlplat (AWS only): one ALB."""
    EXISTING = "existing"
    """An ingress controller the cluster already has (on-prem), by IngressClass name."""


class LoadBalancerScheme(StrEnum):
    """Where an AWS load balancer is reachable from."""

    INTERNAL = "internal"
    INTERNET_FACING = "internet-facing"


class IngressConfig(_Model):
    """How requests reach InferenceServices."""

    controller: IngressController = Field(
        default=IngressController.AWS_LOAD_BALANCER,
        description="`aws-load-balancer` (default on AWS: mlplat installs the AWS Load "
        "Balancer Controller) or `existing` (an ingress controller already in the cluster, "
        "named by `className`).",
    )
    class_name: str = Field(
        default="alb",
        description="IngressClass KServe puts on its Ingresses. With `aws-load-balancer` "
        "mlplat creates it; with `existing` it must already exist.",
    )
    scheme: LoadBalancerScheme = Field(
        default=LoadBalancerScheme.INTERNAL,
        description="`internal` (default: reachable only from the VPC and networks routed "
        "to it) or `internet-facing` (explicit opt-in; needs `inboundCidrs`, refused in "
        "prod, reported by the audit). Only with `aws-load-balancer`.",
    )
    inbound_cidrs: list[str] = Field(
        default_factory=list,
        description="Source CIDRs the load balancer admits. Required with "
        "`internet-facing` (no `0.0.0.0/0`); empty with `internal` means the VPC only.",
    )
    domain: str = Field(
        default="models.internal",
        description="DNS domain of InferenceService hosts: `<name>-<namespace>.<domain>`.",
    )

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if not _CLASS.fullmatch(value):
            raise ValueError(f"{value!r} is not an IngressClass name (a DNS label)")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _DOMAIN.fullmatch(value):
            raise ValueError(f"{value!r} is not a DNS domain such as 'models.example.com'")
        return value

    @field_validator("inbound_cidrs")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            if cidrs.parse(value).prefixlen == 0:
                raise ValueError(f"{value} admits the whole internet; list the networks "
                                 "that need the models")
        if len(set(values)) != len(values):
            raise ValueError("duplicate CIDRs")
        return values

    @model_validator(mode="after")
    def _internet_facing_is_explicit(self) -> Self:
        if self.controller is IngressController.EXISTING:
            if self.scheme is not LoadBalancerScheme.INTERNAL or self.inbound_cidrs:
                raise ValueError("scheme and inboundCidrs apply only to the "
                                 "aws-load-balancer controller; configure the existing "
                                 "ingress controller itself")
        elif self.scheme is LoadBalancerScheme.INTERNET_FACING and not self.inbound_cidrs:
            raise ValueError("scheme internet-facing needs inboundCidrs (the networks "
                             "allowed to reach the models)")
        return self

    @property
    def internet_facing(self) -> bool:
        """Whether mlplat creates a load balancer reachable from the internet."""
        return (self.controller is IngressController.AWS_LOAD_BALANCER
                and self.scheme is LoadBalancerScheme.INTERNET_FACING)


class AutoscalingConfig(_Model):
    """Autoscaling defaults for InferenceServices (KServe creates one HorizontalPodAutoscaler
    per predictor in RawDeployment mode)."""

    min_replicas: int = Field(
        default=2, ge=1, le=100,
        description="Replicas a predictor should keep at least (2 keeps a model served "
        "while a node is drained); documented for teams and used by the docs' sample, not "
        "enforced (KServe has no cluster-wide default).",
    )
    max_replicas: int = Field(
        default=4, ge=1, le=1000,
        description="Most predictor replicas an InferenceService in the team's namespaces "
        "may ask for (`minReplicas` and `maxReplicas`), enforced by a "
        "ValidatingAdmissionPolicy.",
    )
    scale_down_stabilization_seconds: int = Field(
        default=300, ge=0, le=3600,
        description="How long the HPA waits before scaling down (KServe's cluster-wide "
        "default for the HPAs it creates).",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) exceeds maxReplicas "
                             f"({self.max_replicas})")
        return self


class ServingConfig(_Model):
    """KServe (RawDeployment) with its runtimes, defaults and ingress."""

    runtimes: list[ModelRuntime] = Field(
        default_factory=lambda: list(ModelRuntime),
        description="Model servers installed as ClusterServingRuntimes: `sklearn`, "
        "`xgboost`, `triton`, `vllm` (default: all).",
    )
    namespaces: list[NamespacePurpose | None] | None = Field(
        default=None,
        description="Purposes of the tenancy namespaces that serve models (`null` for the "
        "main namespace); each gets the PodDisruptionBudget and load balancer "
        "NetworkPolicy below, which select only InferenceService pods. Absent: every "
        "tenancy namespace.",
    )
    max_unavailable: int = Field(
        default=1, ge=1, le=100,
        description="PodDisruptionBudget per serving namespace: at most this many "
        "InferenceService pods may be evicted at once (node drains, Karpenter "
        "consolidation).",
    )
    autoscaling: AutoscalingConfig = Field(
        default_factory=AutoscalingConfig, description="Autoscaling defaults."
    )
    ingress: IngressConfig = Field(default_factory=IngressConfig, description="Ingress.")

    @field_validator("runtimes", "namespaces")
    @classmethod
    def _unique(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("duplicate entries")
        return values

    def namespace_names(self, tenancy: TenancyConfig, environment: str) -> list[str]:
        """The serving namespaces' names in environment `<team>-<env>`."""
        chosen = [ns for ns in tenancy.namespaces
                  if self.namespaces is None or ns.purpose in self.namespaces]
        return [ns.name_in(environment) for ns in chosen]


def check_serving(serving: ServingConfig, tenancy: TenancyConfig | None, prod: bool,
                  public_subnets_for_load_balancers: bool | None) -> None:
    """Rules between `serving` and other layers; raises ValueError naming the fields.
    Called once from EnvironmentConfig. `public_subnets_for_load_balancers` is
    `network.internetFacingLoadBalancers` (None when the network block did not parse)."""
    if prod and serving.ingress.internet_facing:
        raise ValueError("ingress.scheme internet-facing is refused in prod; put an "
                         "internal load balancer behind the organisation's edge instead")
    if serving.ingress.internet_facing and public_subnets_for_load_balancers is False:
        raise ValueError("ingress.scheme internet-facing needs network."
                         "internetFacingLoadBalancers: true (otherwise no public subnet is "
                         "offered to load balancers)")
    if serving.namespaces is None:
        return
    if tenancy is None:
        raise ValueError("namespaces needs mlplat:tenancy, which is absent")
    purposes = {ns.purpose for ns in tenancy.namespaces}
    for index, purpose in enumerate(serving.namespaces):
        if purpose not in purposes:
            raise ValueError(
                f"namespaces[{index}]: {purpose or '<main>'!r} is not one of "
                f"tenancy.namespaces (purposes: "
                f"{', '.join(sorted(str(p or '<main>') for p in purposes))})")
