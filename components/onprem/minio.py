"""The environment's object store on-prem: MinIO from its pinned chart, in the environment's
data namespace, with one bucket per purpose, one MinIO user and policy per workload, and
every credential generated and handed over in Secrets.

Children of one `mlplat:onprem/minio:MinioObjectStore`:

* the root credentials, generated (pulumi_random, secret: no value in the plan) into a
  Secret of the data namespace that the chart reads (`existingSecret`); nobody else gets
  them;
* per grant (a team service account, the MLflow server, the database's backups): a MinIO
  user `<environment>-<grant>` with a generated secret key and its own policy granting the
  same S3 actions per bucket and prefix as the IAM policies on AWS
  (components/aws/team_access.py, `OBJECT_ACTIONS`/`BUCKET_ACTIONS`); the key in a Secret of
  the data namespace (for the chart's user Job) and, as `AWS_ACCESS_KEY_ID`/
  `AWS_SECRET_ACCESS_KEY`, in a Secret `<grant>-s3` of the namespace the grant runs in.
  Static keys are unavoidable: MinIO hands no short-lived credentials to pods without an
  external identity provider. Bumping `credentials_version` rotates every key;
* a cert-manager `Certificate` for the service names (and every server's name in
  distributed mode), signed by the configured issuer: MinIO serves TLS only;
* the chart (`helm.v3.Release`, version pinned in components/versions.py): buckets
  versioned and private (`policy: none`), no default `console` user, the chart's image tags
  stated, non-root with all capabilities dropped and RuntimeDefault seccomp for the servers
  and the set-up Job, ClusterIP services only, no ingress, a PodDisruptionBudget.

Not done here: encryption at rest (MinIO's SSE needs a KMS, KES; use encrypted volumes
on the hosts) and bucket lifecycle rules (docs/components/onprem.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.aws.team_access import BUCKET_ACTIONS, OBJECT_ACTIONS, ServiceAccountGrant
from components.k8s.mlflow import SECRET_LENGTH
from components.onprem.certificates import certificate as issued_certificate
from components.versions import (
    MINIO_CHART,
    MINIO_CHART_REPOSITORY,
    MINIO_CHART_VERSION,
    MINIO_IMAGE_REPOSITORY,
    MINIO_IMAGE_TAG,
    MINIO_MC_IMAGE_REPOSITORY,
    MINIO_MC_IMAGE_TAG,
)
from mlplat.config import BucketGrantConfig
from mlplat.config.onprem import MINIO_API_PORT, MinioConfig, MinioMode, TlsConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:onprem/minio:MinioObjectStore"

#: The chart's `fullnameOverride`: names the Service (`minio`) and headless Service
#: (`minio-svc`) the certificate must cover.
RELEASE_NAME = "minio"
ROOT_USER = "mlplat-root"
#: The chart's user Job reads each user's key from this key of its Secret.
USER_SECRET_KEY = "secretKey"
#: The MinIO image's unprivileged user (the chart's default securityContext).
MINIO_UID = 1000


def bucket_name(environment: str, purpose: str) -> str:
    """`<team>-<env>-<purpose>`: MinIO bucket names are local to this MinIO, so no suffix."""
    return f"{environment}-{purpose}"


def user_name(environment: str, grant: str) -> str:
    """The MinIO user (and policy) of one grant."""
    return f"{environment}-{grant}"


def minio_statements(
    grants: Mapping[str, BucketGrantConfig], bucket_names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """A grant's policy in the chart's `policies[].statements` form: per bucket listing
    (limited to the prefixes), bucket actions and object actions (under the prefixes) — the
    S3 actions of the AWS role of the same grant; MinIO has no KMS statement to match."""
    statements: list[dict[str, Any]] = []
    for purpose, grant in sorted(grants.items()):
        arn = f"arn:aws:s3:::{bucket_names[purpose]}"
        listing: dict[str, Any] = {"effect": "Allow", "actions": ["s3:ListBucket"],
                                   "resources": [arn]}
        if grant.prefixes:
            quoted = ", ".join(f'"{p}*"' for p in sorted(grant.prefixes))
            # The chart pastes each condition's value inside `{ }` as written.
            listing["conditions"] = [{"StringLike": f'"s3:prefix": [{quoted}]'}]
        statements += [
            listing,
            {"effect": "Allow", "actions": list(BUCKET_ACTIONS[grant.access]),
             "resources": [arn]},
            {"effect": "Allow", "actions": list(OBJECT_ACTIONS[grant.access]),
             "resources": [f"{arn}/{p}*" for p in sorted(grant.prefixes)] or [f"{arn}/*"]},
        ]
    return statements


def server_dns_names(namespace: str, distributed: bool) -> list[str]:
    """Names clients and (distributed) the servers themselves use."""
    names = []
    for service in (RELEASE_NAME, *((f"*.{RELEASE_NAME}-svc",) if distributed else ())):
        names += [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]
    return [RELEASE_NAME, f"{RELEASE_NAME}.{namespace}", *names]


def restricted_container() -> dict[str, Any]:
    """Container securityContext of every MinIO pod (restricted Pod Security Standard)."""
    return {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


@dataclass(frozen=True)
class MinioObjectStoreArgs:
    """Inputs of MinioObjectStore, from validated config."""

    settings: MinioConfig
    """The validated `mlplat:onprem.objectStore` block (MinIO)."""
    tls: TlsConfig
    """cert-manager issuer of MinIO's server certificate."""
    environment: str
    """`<team>-<env>`: prefixes bucket, user and policy names."""
    namespace: pulumi.Input[str]
    """The data namespace (created by the composition)."""
    namespace_name: str
    """Its name, known up front (certificate names)."""
    purposes: Sequence[str]
    """Bucket purposes (`mlplat:objectStore.buckets`, plus `backups` for the database)."""
    grants: Sequence[ServiceAccountGrant]
    """Who gets a MinIO user: name, the namespace its credentials Secret goes to, buckets."""
    labels: Mapping[str, str]
    """Ownership labels of every object (ADR 0004)."""
    credentials_version: int = 1
    """Bump to generate new keys for every user and the root."""


class MinioObjectStore(pulumi.ComponentResource):
    """MinIO with TLS, versioned private buckets per purpose and a user per grant. Pass the
    cluster's Kubernetes provider in `opts.providers`."""

    bucket_names: dict[str, str]
    """Purpose -> bucket name."""
    endpoint_url: str
    """`https://minio.<namespace>.svc:9000`, inside the cluster only."""
    credentials_secrets: dict[str, str]
    """Grant name -> Secret (in the grant's namespace) with its keys."""
    tls_secret: str
    """Secret of the data namespace holding the server certificate and the issuer's
    `ca.crt`."""

    def __init__(
        self, name: str, args: MinioObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        settings, child = args.settings, pulumi.ResourceOptions(parent=self)
        distributed = settings.mode is MinioMode.DISTRIBUTED
        keepers = {"credentialsVersion": str(args.credentials_version)}
        labels = dict(args.labels)

        def meta(object_name: str, namespace: pulumi.Input[str] = args.namespace
                 ) -> dict[str, Any]:
            return {"name": object_name, "namespace": namespace, "labels": labels}

        def generated(role: str) -> random.RandomPassword:
            return random.RandomPassword(f"{name}-{role}-key", length=SECRET_LENGTH,
                                         special=False, keepers=keepers, opts=child)

        root = generated("root")
        root_secret = k8s.core.v1.Secret(
            f"{name}-root", metadata=meta(f"{RELEASE_NAME}-root"), type="Opaque",
            string_data={"rootUser": ROOT_USER, "rootPassword": root.result}, opts=child,
        )
        self.bucket_names = {p: bucket_name(args.environment, p) for p in args.purposes}
        users, policies = [], []
        self.credentials_secrets = {}
        for grant in args.grants:
            key = generated(grant.name)
            user = user_name(args.environment, grant.name)
            for_chart = k8s.core.v1.Secret(
                f"{name}-{grant.name}-user", metadata=meta(f"{RELEASE_NAME}-user-{grant.name}"),
                type="Opaque", string_data={USER_SECRET_KEY: key.result}, opts=child,
            )
            secret_name = f"{grant.name}-s3"
            k8s.core.v1.Secret(
                f"{name}-{grant.name}-credentials", metadata=meta(secret_name, grant.namespace),
                type="Opaque",
                string_data={"AWS_ACCESS_KEY_ID": user, "AWS_SECRET_ACCESS_KEY": key.result},
                opts=child,
            )
            self.credentials_secrets[grant.name] = secret_name
            policies.append({"name": user,
                             "statements": minio_statements(grant.buckets, self.bucket_names)})
            users.append({"accessKey": user, "existingSecret": for_chart.metadata.name,
                          "existingSecretKey": USER_SECRET_KEY, "policy": user})

        self.tls_secret = f"{RELEASE_NAME}-tls"
        certificate = issued_certificate(
            f"{name}-certificate", secret_name=self.tls_secret, namespace=args.namespace,
            labels=labels, tls=args.tls, usages=["server auth", "client auth"],
            dns_names=server_dns_names(args.namespace_name, distributed), opts=child,
        )
        job_security = {"enabled": True, "runAsUser": MINIO_UID, "runAsGroup": MINIO_UID,
                        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        job = {"securityContext": {"enabled": True},
               "containerSecurityContext": restricted_container()}
        values: dict[str, Any] = {
            "fullnameOverride": RELEASE_NAME,
            "mode": settings.mode.value,
            "replicas": settings.replicas if distributed else 1,
            "image": {"repository": MINIO_IMAGE_REPOSITORY, "tag": MINIO_IMAGE_TAG},
            "mcImage": {"repository": MINIO_MC_IMAGE_REPOSITORY, "tag": MINIO_MC_IMAGE_TAG},
            "existingSecret": root_secret.metadata.name,
            "tls": {"enabled": True, "certSecret": self.tls_secret,
                    "publicCrt": "tls.crt", "privateKey": "tls.key"},
            # The set-up Jobs' `mc` must trust the issuer too.
            "trustedCertsSecret": self.tls_secret,
            "persistence": {"enabled": True, "size": f"{settings.volume_size_gib}Gi",
                            **({"storageClass": settings.storage_class}
                               if settings.storage_class else {})},
            "resources": {"requests": {"memory": settings.memory_request},
                          "limits": {"memory": settings.memory_request}},
            "securityContext": {"enabled": True, "runAsUser": MINIO_UID,
                                "runAsGroup": MINIO_UID, "fsGroup": MINIO_UID,
                                "fsGroupChangePolicy": "OnRootMismatch",
                                "runAsNonRoot": True,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": restricted_container(),
            "postJob": {"securityContext": job_security},
            "makePolicyJob": job, "makeUserJob": job, "makeBucketJob": job,
            "makeServiceAccountJob": job, "customCommandJob": job,
            "service": {"type": "ClusterIP"},
            "consoleService": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "consoleIngress": {"enabled": False},
            "buckets": [{"name": bucket, "policy": "none", "purge": False, "versioning": True,
                         "objectlocking": False}
                        for _, bucket in sorted(self.bucket_names.items())],
            "policies": policies,
            # Replaces the chart's default `console` user with a well-known password.
            "users": users,
            "svcaccts": [],
            "podDisruptionBudget": {"enabled": distributed, "maxUnavailable": 1},
            "environment": {"MINIO_BROWSER": "off"},
        }
        k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=MINIO_CHART,
            version=MINIO_CHART_VERSION,
            repository_opts={"repo": MINIO_CHART_REPOSITORY},
            namespace=args.namespace,
            values=values,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[certificate]),
        )
        self.endpoint_url = f"https://{RELEASE_NAME}.{args.namespace_name}.svc:{MINIO_API_PORT}"
        self.register_outputs({"bucket_names": self.bucket_names,
                               "endpoint_url": self.endpoint_url})
