"""A Plan exported as Terraform-plan JSON, so scanners written for Terraform (checkov's
`terraform_plan` framework) can give a second opinion on the AWS side of a stack.

The export is faithful because pulumi-aws is bridged from the Terraform AWS provider: the
plan's inputs already carry the Terraform attribute names (snake_case). What differs:

- type tokens: `aws:s3/bucket:Bucket` is Terraform's `aws_s3_bucket`;
- nested blocks: Pulumi flattens a block that holds one item into an object and pluralises
  repeated block names (`rules`); Terraform keeps one-item lists and singular names (`rule`);
- references: Pulumi records a resolved value plus the dependency; Terraform plans keep the
  expression (`aws_s3_bucket.x.id`) in `configuration`, which is where checkov's
  cross-resource checks (a bucket's public access block, encryption, versioning, logging)
  look. Without rebuilt references good buckets would falsely fail those checks.

Kubernetes objects are exported separately as plain manifests (`kubernetes_manifests`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlplat.plan.mocks import digest
from mlplat.plan.model import UNKNOWN, Plan, ResourceRecord, snake_case

#: The Terraform version the export claims; checkov only checks that the field exists.
TERRAFORM_VERSION = "1.9.8"

#: Tokens whose Terraform name does not follow the rule in `terraform_type`.
_IRREGULAR_TYPES = {
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/optionGroup:OptionGroup": "aws_db_option_group",
    "aws:ec2/tag:Tag": "aws_ec2_tag",
}

#: Pulumi module whose resources carry no module prefix in Terraform (`aws_vpc`, `aws_eip`).
_UNPREFIXED_MODULES = frozenset({"ec2"})

#: Repeated blocks Pulumi pluralised, back to Terraform's singular block name.
_BLOCK_NAMES = {
    "rules": "rule",
    "transitions": "transition",
    "noncurrent_version_transitions": "noncurrent_version_transition",
    "parameters": "parameter",
    "lifecycle_policies": "lifecycle_policy",
    "ingress_rules": "ingress",
}

#: Object-typed inputs that are Terraform maps (user keys), not blocks.
_MAP_ATTRIBUTES = frozenset({"tags", "tags_all", "labels", "dimensions", "variables",
                             "environment", "parameters"})

_ARN = re.compile(r"^arn:aws[a-z-]*:")


def terraform_type(type_token: str) -> str:
    """`aws:<module>/<camelName>:<Type>` -> the Terraform resource type.

    Pulumi strips the module from the Terraform name (`aws_eks_cluster` -> `eks/cluster`);
    the EC2 module holds Terraform's unprefixed core types (`aws_vpc` -> `ec2/vpc`)."""
    if type_token in _IRREGULAR_TYPES:
        return _IRREGULAR_TYPES[type_token]
    package, middle, _ = type_token.split(":")
    if package != "aws":
        raise ValueError(f"{type_token}: only aws resources have Terraform types")
    module, name = middle.split("/")
    prefix = "" if module in _UNPREFIXED_MODULES else f"{module}_"
    return f"aws_{prefix}{snake_case(name)}"


def _values(value: Any, key: str | None = None) -> Any:
    """Plan inputs -> Terraform values: single blocks as one-item lists, map keys kept."""
    if isinstance(value, dict):
        return dict(value) if key in _MAP_ATTRIBUTES else [_block_values(value)]
    if isinstance(value, list):
        # A repeated block: a list of blocks, each item not wrapped again.
        return [_block_values(v) if isinstance(v, dict) else _values(v) for v in value]
    return None if value == UNKNOWN else value


def _block_values(inputs: dict[str, Any]) -> dict[str, Any]:
    return {_BLOCK_NAMES.get(k, k): _values(v, k) for k, v in inputs.items()}


def _refers_to(value: str, record: ResourceRecord) -> bool:
    """Whether `value` holds an id, name or ARN the offline mocks give `record`: those all
    embed a digest of its type and name (or are its configured `name`)."""
    digests = (digest(record.type, record.name), digest("kms", record.name, length=32),
               digest("s3", record.name, length=26))
    return value == record.inputs.get("name") or any(d in value for d in digests)


class _Addresses:
    """Terraform addresses (`<type>.<name>`) of the AWS resources in a plan."""

    def __init__(self, plan: Plan) -> None:
        self.records = [r for r in plan.managed() if r.package == "aws"]
        self.by_urn = {r.urn: f"{terraform_type(r.type)}.{_label(r.name)}" for r in self.records}
        self._records = {r.urn: r for r in self.records}

    def references(self, record: ResourceRecord, value: str) -> list[str]:
        """The dependencies of `record` whose id, name or ARN `value` holds."""
        found: list[str] = []
        for urn in record.dependencies:
            dependency = self._records.get(urn)
            if dependency is not None and _refers_to(value, dependency):
                address = self.by_urn[urn]
                attribute = "arn" if _ARN.match(value) else "id"
                found += [f"{address}.{attribute}", address]
        return found


def _label(name: str) -> str:
    """A Terraform resource name: letters, digits, `_` and `-`, not starting with a digit."""
    label = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return label if label[:1].isalpha() or label[:1] == "_" else f"r_{label}"


def _expressions(addresses: _Addresses, record: ResourceRecord, value: Any) -> Any:
    """Terraform configuration expressions: references where a dependency's value was used."""
    if isinstance(value, dict):
        return {k: _expressions(addresses, record, v) for k, v in value.items()}
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return [_expressions(addresses, record, v) for v in value]
        refs = [ref for v in value if isinstance(v, str)
                for ref in addresses.references(record, v)]
        return {"references": refs} if refs else {"constant_value": value}
    if isinstance(value, str):
        refs = addresses.references(record, value)
        if refs:
            return {"references": refs}
    return {"constant_value": value}


def terraform_plan(plan: Plan) -> dict[str, Any]:
    """The AWS resources of `plan` as a Terraform plan (format 1.2) creating all of them."""
    addresses = _Addresses(plan)
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    for record in addresses.records:
        address = addresses.by_urn[record.urn]
        tf_type, label = address.split(".", 1)
        values = _block_values(record.inputs)
        common = {"address": address, "mode": "managed", "type": tf_type, "name": label,
                  "provider_name": "registry.terraform.io/hashicorp/aws"}
        planned.append({**common, "schema_version": 0, "values": values,
                        "sensitive_values": {}})
        changes.append({**common, "change": {"actions": ["create"], "before": None,
                                             "after": values, "after_unknown": {}}})
        configured.append({"address": address, "mode": "managed", "type": tf_type,
                           "name": label, "provider_config_key": "aws",
                           "expressions": _expressions(addresses, record, values)})
    return {
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws",
                                        "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {"resources": configured},
        },
    }


#: Kubernetes resources that are not objects of the API (a Helm release is a Pulumi
#: resource; a patch carries only the fields it sets).
_NOT_MANIFESTS = frozenset({"kubernetes:helm.sh/v3:Release",
                            "kubernetes:storage.k8s.io/v1:StorageClassPatch"})


def kubernetes_manifests(plan: Plan) -> Iterator[tuple[ResourceRecord, dict[str, Any]]]:
    """Every Kubernetes object of `plan` as the manifest `kubectl apply` would take."""
    for record in plan.managed():
        if record.package == "kubernetes" and record.type not in _NOT_MANIFESTS:
            yield record, dict(record.inputs)
