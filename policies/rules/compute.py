"""Node launch settings: EC2 launch templates and Karpenter EC2NodeClasses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, fsbp
from policies.rules._helpers import as_list, dig, first, truthy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def _metadata(record: ResourceRecord) -> dict[str, Any]:
    """Metadata options in either spelling (Terraform snake_case, Karpenter camelCase)."""
    if record.type == NODE_CLASS:
        options = dig(record.inputs, "spec", "metadataOptions") or {}
        return {"tokens": options.get("httpTokens"),
                "hops": options.get("httpPutResponseHopLimit")}
    options = first(record.inputs.get("metadata_options")) or {}
    return {"tokens": options.get("http_tokens"),
            "hops": options.get("http_put_response_hop_limit")}


def _volumes(record: ResourceRecord) -> list[tuple[str, Any]]:
    """(device, encrypted) of every EBS mapping."""
    if record.type == NODE_CLASS:
        mappings = as_list(dig(record.inputs, "spec", "blockDeviceMappings"))
        return [(str(m.get("deviceName")), dig(m, "ebs", "encrypted"))
                for m in mappings if isinstance(m, dict)]
    mappings = as_list(record.inputs.get("block_device_mappings"))
    return [(str(m.get("device_name")), dig(first(m.get("ebs")), "encrypted"))
            for m in mappings if isinstance(m, dict)]


def check_imdsv2(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    tokens = _metadata(record)["tokens"]
    if tokens != "required":
        yield f"instance metadata tokens are {tokens or 'optional (default)'}: IMDSv1 allowed"


def check_hop_limit(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    hops = _metadata(record)["hops"]
    if hops != 1:
        yield (f"metadata hop limit is {hops or 'unset'}: pods on the node can reach the "
               "node role's credentials")


def check_volumes(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    volumes = _volumes(record)
    if record.type == LAUNCH_TEMPLATE and not volumes:
        yield "no block device mapping: the root volume's encryption is left to the AMI"
    for device, encrypted in volumes:
        if not truthy(encrypted):
            yield f"volume {device} is not encrypted"


_TYPES = (LAUNCH_TEMPLATE, NODE_CLASS)
RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-EC2-001", title="Nodes require IMDSv2 (http_tokens required)",
        severity=Severity.HIGH,
        rationale="IMDSv1 answers plain GETs, so any SSRF in a workload can read the node "
                  "role's credentials.",
        remediation="Set metadata_options.http_tokens='required' (httpTokens for Karpenter).",
        controls=(fsbp("EC2.170"), fsbp("EC2.8")),
        resource_types=_TYPES, check=check_imdsv2,
    ),
    Rule(
        id="MLP-EC2-002", title="Node metadata hop limit is 1",
        severity=Severity.HIGH,
        rationale="With a hop limit above 1, containers (one network hop away) reach the "
                  "instance metadata service and the node's IAM role.",
        remediation="Set http_put_response_hop_limit=1 (httpPutResponseHopLimit for "
                    "Karpenter); give pods AWS access through EKS Pod Identity.",
        controls=(baseline("least-privilege"),),
        resource_types=_TYPES, check=check_hop_limit,
    ),
    Rule(
        id="MLP-EC2-003", title="Node volumes are encrypted",
        severity=Severity.HIGH,
        rationale="Node disks hold images, scratch data and cached datasets; unencrypted "
                  "volumes and their snapshots expose them.",
        remediation="Set ebs.encrypted=true on every block device mapping.",
        controls=(baseline("encryption-at-rest"),),
        resource_types=_TYPES, check=check_volumes,
    ),
)
