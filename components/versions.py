"""Every pinned external version mlplat installs: EKS managed add-ons, Karpenter charts, the
AL2023 AMI release, the NVIDIA device plugin chart and the container images mlplat runs
itself (MLflow, the database setup Job).

One module so that an upgrade is one reviewed diff, and so that tests can assert that
nothing floats (no `@latest` AMI alias, no chart version ranges, no unpinned add-on). How to
move each pin is described in docs/upgrades.md. Pure data: no Pulumi imports, so config
validation can check a stack's Kubernetes version against the add-on table.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# --------------------------------------------------------------------------- Karpenter

#: Karpenter (aws/karpenter-provider-aws). 1.12 supports Kubernetes 1.29-1.35, which covers
#: every version in mlplat.config.SUPPORTED_KUBERNETES_VERSIONS. The CRD chart and the
#: controller chart are released together and must carry the same version.
KARPENTER_VERSION: Final = "1.12.1"
KARPENTER_OCI_REPOSITORY: Final = "oci://public.ecr.aws/karpenter"
KARPENTER_CHART: Final = f"{KARPENTER_OCI_REPOSITORY}/karpenter"
KARPENTER_CRD_CHART: Final = f"{KARPENTER_OCI_REPOSITORY}/karpenter-crd"

#: The controller image the 1.12.1 chart deploys, set explicitly in the release values so the
#: plan shows it. The digest is the chart's own `controller.image.digest` from the release
#: commit "Stable Release updates Release v1.12.1" (aws/karpenter-provider-aws bd781d4).
#: Beware: main's values.yaml later carried `tag: 1.12.1` with the 1.12.0 digest (8128bc8c…)
#: after a docs-only bump; the release commit is the authoritative source.
KARPENTER_CONTROLLER_IMAGE_REPOSITORY: Final = "public.ecr.aws/karpenter/controller"
KARPENTER_CONTROLLER_IMAGE_DIGEST: Final = (
    "sha256:61c1872a00f6eb4ba89d830d359d4c61757d0239a89ecfb748d609a9a81ea1f2"
)

#: EKS-optimised Amazon Linux 2023 release (awslabs/amazon-eks-ami tag). Karpenter's `al2023`
#: alias resolves this release's standard, nvidia and neuron variants for the cluster's
#: Kubernetes version through public SSM parameters and picks the nvidia variant for
#: instance types with NVIDIA GPUs, so one pin covers CPU and GPU nodes alike.
AL2023_AMI_RELEASE: Final = "v20260818"
AMI_ALIAS: Final = f"al2023@{AL2023_AMI_RELEASE}"

# --------------------------------------------------------------------------- NVIDIA

#: NVIDIA Kubernetes device plugin (NVIDIA/k8s-device-plugin), classic Helm repository.
NVIDIA_DEVICE_PLUGIN_VERSION: Final = "0.19.0"
NVIDIA_DEVICE_PLUGIN_REPOSITORY: Final = "https://nvidia.github.io/k8s-device-plugin"
NVIDIA_DEVICE_PLUGIN_CHART: Final = "nvidia-device-plugin"
#: The image the chart deploys (its default: the repository below, tag `v<appVersion>`), set
#: explicitly in the values. Digest NOT pinned: NVIDIA's chart and repository publish no
#: digest and no registry is reachable from this build environment; resolve it before a
#: first deploy (`crane digest nvcr.io/nvidia/k8s-device-plugin:v0.19.0`) and append it.
NVIDIA_DEVICE_PLUGIN_IMAGE_REPOSITORY: Final = "nvcr.io/nvidia/k8s-device-plugin"
NVIDIA_DEVICE_PLUGIN_IMAGE_TAG: Final = f"v{NVIDIA_DEVICE_PLUGIN_VERSION}"

# --------------------------------------------------------------------------- Helm chart contents
#
# A Helm release is one opaque resource in the offline plan: the objects its chart renders are
# not. This table records, for each chart at its pinned version and with the values mlplat
# sets, the object kinds it renders (read from the chart templates at the release tag; how:
# docs/security.md, "What Helm releases deploy"). The table in docs/security.md is checked
# against it by tests/unit/test_chart_contents.py; re-read the templates when a pin moves.

#: Chart -> (kind, count) of the objects it renders with mlplat's values. Keys are chart
#: names (the last path segment of an OCI chart reference). Sources, read at the release tag
#: unless said otherwise; no helm binary was available, so the counts come from reading the
#: templates (conditions resolved against the chart defaults and the values the components
#: pass in the shipped stacks, demo and onprem-demo), not from `helm template`. Helm hooks
#: (Jobs and their RBAC that Helm creates around an install) are counted; helm-test Pods
#: (created only by `helm test`) are not.
CHART_OBJECT_KINDS: Mapping[str, tuple[tuple[str, int], ...]] = MappingProxyType({
    "karpenter-crd": (("CustomResourceDefinition", 4),),
    "karpenter": (
        ("ServiceAccount", 1), ("ClusterRole", 3), ("ClusterRoleBinding", 2), ("Role", 2),
        ("RoleBinding", 2), ("Service", 1), ("Deployment", 1), ("PodDisruptionBudget", 1),
    ),
    NVIDIA_DEVICE_PLUGIN_CHART: (("DaemonSet", 2),),
    # ESTIMATE (read with a script that resolves the templates' if-conditions against
    # values.yaml plus mlplat's values; not rendered, could be off by a few objects).
    # prometheus-community/helm-charts tags kube-prometheus-stack-88.5.3,
    # kube-state-metrics-8.4.0, prometheus-node-exporter-4.56.1 and
    # grafana-community/helm-charts grafana-12.11.1, subcharts included: CRDs from the crds
    # subchart (its upgrade Job is off by default); 30 default rule groups (etcd, scheduler,
    # controller-manager, kube-proxy, Windows and the four nil-valued container limit/request
    # groups off); 25 default dashboards + 1 datasource ConfigMap + 2 Grafana ConfigMaps; the
    # admission webhook's certificate Jobs (2, hooks) with their SA and RBAC; Grafana on a
    # PVC-backed Deployment; no Alertmanager config Secret (mlplat's existing Secret is used).
    "kube-prometheus-stack": (
        ("CustomResourceDefinition", 10), ("ServiceAccount", 7), ("ClusterRole", 5),
        ("ClusterRoleBinding", 5), ("Role", 1), ("RoleBinding", 1), ("ConfigMap", 28),
        ("Service", 7), ("Deployment", 3), ("DaemonSet", 1), ("PersistentVolumeClaim", 1),
        ("Job", 2), ("MutatingWebhookConfiguration", 1), ("ValidatingWebhookConfiguration", 1),
        ("Prometheus", 1), ("Alertmanager", 1), ("ServiceMonitor", 9), ("PrometheusRule", 30),
    ),
    # Exact. NVIDIA/dcgm-exporter tag 4.5.3-4.8.2, deployment/: Role and RoleBinding are
    # unconditional; the ClusterRole pair only with pod labels/UIDs (off in mlplat's values).
    "dcgm-exporter": (
        ("ServiceAccount", 1), ("Role", 1), ("RoleBinding", 1), ("ConfigMap", 1),
        ("Service", 1), ("DaemonSet", 1),
    ),
    # Exact. kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1 (TLS type
    # "metrics-server": no Secret, no cert-manager objects; no addon-resizer).
    "metrics-server": (
        ("ServiceAccount", 1), ("ClusterRole", 2), ("ClusterRoleBinding", 2),
        ("RoleBinding", 1), ("Service", 1), ("Deployment", 1), ("APIService", 1),
        ("PodDisruptionBudget", 1),
    ),
    # Exact. fluent/helm-charts tag fluent-bit-0.58.1 (kind DaemonSet; its helm-test Pod is
    # not counted).
    "fluent-bit": (
        ("ServiceAccount", 1), ("ClusterRole", 1), ("ClusterRoleBinding", 1),
        ("ConfigMap", 1), ("Service", 1), ("DaemonSet", 1),
    ),
    # Exact. kubernetes-sigs/kueue tag v0.19.2, charts/kueue: 11 CRDs in templates/crd, 47
    # ClusterRoles (the controller's plus editor/viewer roles per integration), the internal
    # webhook certificate Secret (cert-manager off), the visibility APIServices (v1beta1,
    # v1beta2) and their kube-system auth-reader RoleBinding; no KueueViz, no Prometheus.
    "kueue": (
        ("CustomResourceDefinition", 11), ("ServiceAccount", 1), ("ClusterRole", 47),
        ("ClusterRoleBinding", 2), ("Role", 3), ("RoleBinding", 4), ("ConfigMap", 1),
        ("Secret", 1), ("Service", 3), ("Deployment", 1), ("PodDisruptionBudget", 1),
        ("APIService", 2), ("MutatingWebhookConfiguration", 1),
        ("ValidatingWebhookConfiguration", 1),
    ),
    # Exact. kubernetes-sigs/jobset tag v0.12.0, charts/jobset (CRD from its crds/ directory;
    # internal certificate Secret, cert-manager and Prometheus off).
    "jobset": (
        ("CustomResourceDefinition", 1), ("ServiceAccount", 1), ("ClusterRole", 5),
        ("ClusterRoleBinding", 3), ("Role", 2), ("RoleBinding", 2), ("ConfigMap", 1),
        ("Secret", 1), ("Service", 2), ("Deployment", 1), ("PodDisruptionBudget", 1),
        ("MutatingWebhookConfiguration", 1), ("ValidatingWebhookConfiguration", 1),
    ),
    # Exact. cert-manager/cert-manager tag v1.21.1, deploy/charts/cert-manager: controller,
    # webhook and cainjector; the startupapicheck Job (post-install hook) with its SA, Role
    # and RoleBinding; metrics Services (prometheus.enabled defaults to true).
    "cert-manager": (
        ("CustomResourceDefinition", 6), ("ServiceAccount", 4), ("ClusterRole", 13),
        ("ClusterRoleBinding", 10), ("Role", 4), ("RoleBinding", 4), ("Service", 3),
        ("Deployment", 3), ("PodDisruptionBudget", 3), ("Job", 1),
        ("MutatingWebhookConfiguration", 1), ("ValidatingWebhookConfiguration", 1),
    ),
    # Exact. kserve/kserve tag v0.20.0, charts/kserve-crd (the ClusterStorageContainer CRD
    # renders unless another release owns it).
    "kserve-crd": (("CustomResourceDefinition", 6),),
    # Exact. kserve/kserve tag v0.20.0, charts/kserve-resources: the kustomize base in
    # files/kserve/resources.yaml (patches only change existing objects with mlplat's
    # values) plus the shared resources (createSharedResources: the cert-manager Issuer,
    # the inferenceservice-config ConfigMap, the default ClusterStorageContainer).
    "kserve-resources": (
        ("ServiceAccount", 1), ("ClusterRole", 2), ("ClusterRoleBinding", 2), ("Role", 1),
        ("RoleBinding", 1), ("ConfigMap", 1), ("Secret", 1), ("Service", 3),
        ("Deployment", 1), ("Issuer", 1), ("Certificate", 1), ("ClusterStorageContainer", 1),
        ("MutatingWebhookConfiguration", 1), ("ValidatingWebhookConfiguration", 5),
    ),
    # Exact. aws/eks-charts has no tag for this chart: commit 5239609 "aws-load-balancer-
    # controller: v3.5.0" (#1354), stable/aws-load-balancer-controller. 7 CRDs from crds/
    # (4 elbv2/aga, 3 gateway.k8s.aws); webhook certificate as a Secret (cert-manager off);
    # no IngressClass (mlplat creates its own); PDB because replicaCount 2.
    "aws-load-balancer-controller": (
        ("CustomResourceDefinition", 7), ("ServiceAccount", 1), ("ClusterRole", 1),
        ("ClusterRoleBinding", 1), ("Role", 1), ("RoleBinding", 1), ("Secret", 1),
        ("Service", 1), ("Deployment", 1), ("PodDisruptionBudget", 1),
        ("MutatingWebhookConfiguration", 1), ("ValidatingWebhookConfiguration", 1),
    ),
    # Exact for onprem-demo's values (distributed mode, existing root Secret, buckets, users
    # and policies). minio/minio has no chart tag: commit 43a7402 "update helm release
    # v5.4.0", helm/minio. The post-install Job (hook, deleted on success) makes buckets,
    # policies and users. Standalone mode would render a Deployment and a PVC instead of
    # the StatefulSet, its headless Service and the PDB.
    "minio": (
        ("ServiceAccount", 1), ("ConfigMap", 1), ("Service", 3), ("StatefulSet", 1),
        ("PodDisruptionBudget", 1), ("Job", 1),
    ),
    # Exact. cloudnative-pg/charts tag cloudnative-pg-v0.29.0 with the chart defaults
    # (mlplat passes no values): cluster-wide, so no Role/RoleBinding; config and
    # monitoring-queries ConfigMaps; no PodMonitor, no Grafana dashboard subchart.
    "cloudnative-pg": (
        ("CustomResourceDefinition", 11), ("ServiceAccount", 1), ("ClusterRole", 3),
        ("ClusterRoleBinding", 1), ("ConfigMap", 2), ("Service", 1), ("Deployment", 1),
        ("MutatingWebhookConfiguration", 1), ("ValidatingWebhookConfiguration", 1),
    ),
})

# --------------------------------------------------------------------------- EKS add-ons
#
# Why pinned: an unpinned add-on resolves to "whatever EKS calls default today", so two
# `pulumi up` runs a week apart can install different software, and an offline plan could not
# say what will be installed.
#
# Where the versions come from: the "latest version of the Amazon EKS add-on type for each
# Kubernetes version" tables of the Amazon EKS User Guide (vpc-cni, coredns, kube-proxy), read
# in late 2025. eks-pod-identity-agent and aws-ebs-csi-driver have no per-version table in the
# guide; their pins are builds seen installed on 1.32/1.33 clusters in public configurations
# (and a later EBS CSI build for 1.34); the aws-efs-csi-driver pin is the add-on build of
# the 2.1.10 driver, whose images were seen in public EKS 1.33 configurations. Confirm them
# against the live API before a first deploy (see docs/components/cluster.md, "Add-ons"):
#
#     aws eks describe-addon-versions --kubernetes-version 1.33 --addon-name coredns \
#         --query 'addons[].addonVersions[].addonVersion'
#
# The table must have one row per entry of mlplat.config.SUPPORTED_KUBERNETES_VERSIONS;
# config validation refuses a kubernetesVersion without a row.

VPC_CNI: Final = "vpc-cni"
COREDNS: Final = "coredns"
KUBE_PROXY: Final = "kube-proxy"
POD_IDENTITY_AGENT: Final = "eks-pod-identity-agent"
EBS_CSI_DRIVER: Final = "aws-ebs-csi-driver"
#: Installed by components/aws/shared_filesystem.py only when `mlplat:sharedFilesystem` is set.
EFS_CSI_DRIVER: Final = "aws-efs-csi-driver"

#: Every managed add-on the Cluster component installs.
ADDON_NAMES: tuple[str, ...] = (VPC_CNI, KUBE_PROXY, POD_IDENTITY_AGENT, COREDNS, EBS_CSI_DRIVER)
#: Add-ons other components install when their config asks for them (pinned in the same table).
OPTIONAL_ADDON_NAMES: tuple[str, ...] = (EFS_CSI_DRIVER,)

_ADDON_TABLE: dict[str, dict[str, str]] = {
    "1.32": {
        VPC_CNI: "v1.20.4-eksbuild.1",
        COREDNS: "v1.11.4-eksbuild.24",
        KUBE_PROXY: "v1.32.9-eksbuild.2",
        POD_IDENTITY_AGENT: "v1.3.8-eksbuild.2",
        EBS_CSI_DRIVER: "v1.48.0-eksbuild.2",
        EFS_CSI_DRIVER: "v2.1.10-eksbuild.1",
    },
    "1.33": {
        VPC_CNI: "v1.20.4-eksbuild.1",
        COREDNS: "v1.12.4-eksbuild.1",
        KUBE_PROXY: "v1.33.5-eksbuild.2",
        POD_IDENTITY_AGENT: "v1.3.8-eksbuild.2",
        EBS_CSI_DRIVER: "v1.48.0-eksbuild.2",
        EFS_CSI_DRIVER: "v2.1.10-eksbuild.1",
    },
    "1.34": {
        VPC_CNI: "v1.20.4-eksbuild.1",
        COREDNS: "v1.12.4-eksbuild.1",
        KUBE_PROXY: "v1.34.1-eksbuild.2",
        POD_IDENTITY_AGENT: "v1.3.8-eksbuild.2",
        # 1.34 arrived after the 1.48 driver; take a later build for it.
        EBS_CSI_DRIVER: "v1.52.1-eksbuild.1",
        EFS_CSI_DRIVER: "v2.1.10-eksbuild.1",
    },
}

#: Kubernetes minor versions this release of mlplat pins add-ons and AMIs for.
SUPPORTED_KUBERNETES_VERSIONS: Final[tuple[str, ...]] = ("1.32", "1.33", "1.34")

#: Read-only view of the add-on pins: Kubernetes minor version -> add-on name -> version.
ADDON_VERSIONS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {version: MappingProxyType(row) for version, row in _ADDON_TABLE.items()}
)

# --------------------------------------------------------------------------- PostgreSQL (RDS)
#
# The metadata database (components/aws/metadata_db.py) runs RDS for PostgreSQL. Only the
# major version is pinned: `auto_minor_version_upgrade` is on, so RDS applies minor releases
# in the maintenance window, and a pinned minor in code would then read as drift (or, worse,
# as a downgrade) on the next `pulumi up`. A major upgrade is a deliberate config change
# (`mlplat:metadataDb.engineVersion`, see docs/upgrades.md); the parameter group family must
# move with it, hence one table.

#: PostgreSQL major version -> RDS DB parameter group family.
_POSTGRES_TABLE: dict[str, str] = {
    "16": "postgres16",
    "17": "postgres17",
}

#: Read-only view: major versions mlplat supports and their parameter group families.
POSTGRES_PARAMETER_FAMILIES: Mapping[str, str] = MappingProxyType(_POSTGRES_TABLE)

#: The major version new metadata databases get.
POSTGRES_DEFAULT_MAJOR: Final = "17"

# --------------------------------------------------------------------------- Container images
#
# Images mlplat runs itself (components/k8s/mlflow.py, components/aws/mlflow_db.py), pinned by
# version tag. No registry is reachable from this workplace, so the digests could not be
# read and are not pinned yet: resolve them before a first deploy
# (`crane digest ghcr.io/mlflow/mlflow:v3.5.0-full`) and append `@sha256:...` here; the
# audit rule `image-pinned` accepts either form.

#: MLflow tracking server. The `-full` variant carries the PostgreSQL driver and boto3 the
#: server needs for its backend store and S3 artifacts (the plain tag is MLflow core only).
MLFLOW_IMAGE: Final = "ghcr.io/mlflow/mlflow:v3.5.0-full"
#: PostgreSQL client (psql 17, matching POSTGRES_DEFAULT_MAJOR) for the database setup Job.
POSTGRES_CLIENT_IMAGE: Final = "docker.io/library/postgres:17.6-alpine"
#: AWS CLI v2, reads the database master secret in the setup Job (Pod Identity credentials).
AWS_CLI_IMAGE: Final = "public.ecr.aws/aws-cli/aws-cli:2.31.5"

# --------------------------------------------------------------------------- On-prem substrate
#
# What components/onprem/ installs (issue #10). Looked up in the charts' own repositories:
# the MinIO chart in github.com/minio/minio (helm/minio/Chart.yaml and values.yaml at commit
# 7aac2a2c, 2026-02-12; the repository is the community edition, whose chart is served from
# charts.min.io), the CloudNativePG chart in github.com/cloudnative-pg/charts
# (charts/cloudnative-pg/Chart.yaml at commit b21ad2da, 2026-07-20). Image digests could
# not be read (no registry is reachable here) and are not pinned; see docs/components/onprem.md.

#: MinIO community chart (helm/minio). Its default image is the server release below.
MINIO_CHART_VERSION: Final = "5.4.0"
MINIO_CHART_REPOSITORY: Final = "https://charts.min.io/"
MINIO_CHART: Final = "minio"
#: The chart's own default server and client (`mc`) images at 5.4.0, stated explicitly so an
#: upgrade of the chart cannot move them unseen.
MINIO_IMAGE_REPOSITORY: Final = "quay.io/minio/minio"
MINIO_IMAGE_TAG: Final = "RELEASE.2024-12-18T13-15-44Z"
MINIO_MC_IMAGE_REPOSITORY: Final = "quay.io/minio/mc"
MINIO_MC_IMAGE_TAG: Final = "RELEASE.2024-11-21T17-21-54Z"

#: CloudNativePG operator chart 0.29.0 = operator 1.30.0 (Chart.yaml appVersion). The CRD
#: field paths mlplat writes are listed, with this source, in
#: components/onprem/cloudnativepg.py (CLUSTER_CRD_FIELDS) and checked by a test.
CLOUDNATIVEPG_CHART_VERSION: Final = "0.29.0"
CLOUDNATIVEPG_OPERATOR_VERSION: Final = "1.30.0"
CLOUDNATIVEPG_CHART_REPOSITORY: Final = "https://cloudnative-pg.github.io/charts"
CLOUDNATIVEPG_CHART: Final = "cloudnative-pg"
#: PostgreSQL image the Cluster runs (CloudNativePG's own operand images), major version
#: matching POSTGRES_DEFAULT_MAJOR.
CLOUDNATIVEPG_POSTGRES_IMAGE: Final = "ghcr.io/cloudnative-pg/postgresql:17.6"
# --------------------------------------------------------------------------- Monitoring (issue #12)
#
# Charts of components/k8s/monitoring.py, exact versions read from each chart's Chart.yaml in
# its upstream repository (fetched 2026). The images are the charts' own defaults for those
# versions (tags below, for review); no registry is reachable from this workplace, so their
# digests could not be read and are not pinned: resolve them before a first deploy
# (`crane digest quay.io/prometheus/prometheus:v3.14.0-distroless`) and set them through the
# charts' `image.sha` / `image.digest` values.

#: kube-prometheus-stack (prometheus-community/helm-charts): Prometheus Operator v0.93.1,
#: Prometheus v3.14.0, Alertmanager v0.34.0, Grafana chart 12.11.1, kube-state-metrics
#: v2.20.0 (chart 8.4.0), node exporter v1.12.1 (chart 4.56.1). Its CRDs are
#: monitoring.coreos.com at operator version 0.93.1 (tests/unit/test_monitoring_crds.py).
KUBE_PROMETHEUS_STACK_VERSION: Final = "88.5.3"
KUBE_PROMETHEUS_STACK_REPOSITORY: Final = "https://prometheus-community.github.io/helm-charts"
KUBE_PROMETHEUS_STACK_CHART: Final = "kube-prometheus-stack"
PROMETHEUS_OPERATOR_VERSION: Final = "0.93.1"

#: NVIDIA dcgm-exporter chart (NVIDIA/dcgm-exporter deployment/): image
#: nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless.
DCGM_EXPORTER_VERSION: Final = "4.8.2"
DCGM_EXPORTER_REPOSITORY: Final = "https://nvidia.github.io/dcgm-exporter/helm-charts"
DCGM_EXPORTER_CHART: Final = "dcgm-exporter"
DCGM_EXPORTER_IMAGE_TAG: Final = "4.5.3-4.8.2-distroless"

#: metrics-server chart (kubernetes-sigs/metrics-server charts/): metrics-server v0.8.1.
METRICS_SERVER_VERSION: Final = "3.13.1"
METRICS_SERVER_REPOSITORY: Final = "https://kubernetes-sigs.github.io/metrics-server/"
METRICS_SERVER_CHART: Final = "metrics-server"

#: Fluent Bit chart (fluent/helm-charts charts/fluent-bit): Fluent Bit 5.1.1.
FLUENT_BIT_VERSION: Final = "0.58.1"
FLUENT_BIT_REPOSITORY: Final = "https://fluent.github.io/helm-charts"
FLUENT_BIT_CHART: Final = "fluent-bit"
# --------------------------------------------------------------------------- Training and serving
#
# Read from the projects' own repositories at the tagged release (chart Chart.yaml and
# values.yaml, the CRD Go types): kubernetes-sigs/kueue v0.19.2, kubernetes-sigs/jobset
# v0.12.0, kserve/kserve v0.20.0, cert-manager/cert-manager v1.21.1,
# kubernetes-sigs/aws-load-balancer-controller v3.5.0. Image digests could not be read (no
# registry is reachable here) and are not pinned: resolve them before a first deploy
# (`crane digest <image>`) and append `@sha256:...`; docs/components/{training,serving}.md.

#: Kueue (GPU job queueing). Chart and image carry the same version; the chart's default
#: image is a staging build, so the release image is named explicitly.
KUEUE_VERSION: Final = "0.19.2"
KUEUE_CHART: Final = "oci://registry.k8s.io/kueue/charts/kueue"
KUEUE_IMAGE_REPOSITORY: Final = "registry.k8s.io/kueue/kueue"
#: API version of the Kueue objects mlplat creates (the storage version of 0.19).
KUEUE_API_VERSION: Final = "kueue.x-k8s.io/v1beta2"

#: JobSet (distributed training: one JobSet = leader and workers as replicated Jobs).
JOBSET_VERSION: Final = "0.12.0"
JOBSET_CHART: Final = "oci://registry.k8s.io/jobset/charts/jobset"
JOBSET_IMAGE_REPOSITORY: Final = "registry.k8s.io/jobset/jobset"
JOBSET_API_VERSION: Final = "jobset.x-k8s.io/v1alpha2"

#: cert-manager: KServe's chart issues its webhook certificate through it.
CERT_MANAGER_VERSION: Final = "v1.21.1"
CERT_MANAGER_REPOSITORY: Final = "https://charts.jetstack.io"
CERT_MANAGER_CHART: Final = "cert-manager"

#: KServe (model serving, RawDeployment mode). CRDs and controller are separate charts of the
#: same version.
KSERVE_VERSION: Final = "v0.20.0"
KSERVE_CRD_CHART: Final = "oci://ghcr.io/kserve/charts/kserve-crd"
KSERVE_CHART: Final = "oci://ghcr.io/kserve/charts/kserve-resources"
KSERVE_API_VERSION: Final = "serving.kserve.io/v1alpha1"
#: Model server images of the ClusterServingRuntimes. sklearn and xgboost servers are
#: KServe's own (same release); vLLM is the tag KServe v0.20.0 references; Triton is the tag
#: KServe v0.20.0's runtime config ships — old (2023): move it to a current NGC release
#: before serving real traffic (docs/components/serving.md).
SKLEARN_SERVER_IMAGE: Final = f"docker.io/kserve/sklearnserver:{KSERVE_VERSION}"
XGBOOST_SERVER_IMAGE: Final = f"docker.io/kserve/xgbserver:{KSERVE_VERSION}"
TRITON_SERVER_IMAGE: Final = "nvcr.io/nvidia/tritonserver:23.05-py3"
VLLM_SERVER_IMAGE: Final = "docker.io/vllm/vllm-openai:v0.20.0"

#: AWS Load Balancer Controller (ingress for KServe on AWS). Chart 3.5.0 = controller v3.5.0.
AWS_LOAD_BALANCER_CONTROLLER_VERSION: Final = "3.5.0"
AWS_LOAD_BALANCER_CONTROLLER_REPOSITORY: Final = "https://aws.github.io/eks-charts"
AWS_LOAD_BALANCER_CONTROLLER_CHART: Final = "aws-load-balancer-controller"
AWS_LOAD_BALANCER_CONTROLLER_IMAGE: Final = (
    "public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0")
ELBV2_API_VERSION: Final = "elbv2.k8s.aws/v1beta1"
