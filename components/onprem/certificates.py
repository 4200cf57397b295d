"""cert-manager Certificates: how every on-prem TLS secret mlplat needs is issued (MinIO's
and PostgreSQL's server certificates, the CA bundle MLflow trusts MinIO with)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from mlplat.config.onprem import TlsConfig

#: cert-manager API of the Certificate resource.
CERT_MANAGER_API = "cert-manager.io/v1"


def certificate(
    resource_name: str,
    *,
    secret_name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    tls: TlsConfig,
    usages: Sequence[str],
    dns_names: Sequence[str] = (),
    common_name: str | None = None,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A Certificate signed by the configured issuer into Secret `secret_name` (`tls.crt`,
    `tls.key` and the issuer's `ca.crt`): ECDSA P-256, a new key on every renewal."""
    spec: dict[str, object] = {
        "secretName": secret_name,
        "duration": f"{tls.duration_hours}h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": list(usages),
        "issuerRef": {"name": tls.issuer_name, "kind": tls.issuer_kind.value,
                      "group": "cert-manager.io"},
    }
    if dns_names:
        spec["dnsNames"] = list(dns_names)
    if common_name is not None:
        spec["commonName"] = common_name
    return k8s.apiextensions.CustomResource(
        resource_name, api_version=CERT_MANAGER_API, kind="Certificate",
        metadata={"name": secret_name, "namespace": namespace, "labels": dict(labels)},
        spec=spec, opts=opts,
    )
