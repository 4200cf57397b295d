"""Small readers shared by the rule modules: plan inputs are plain JSON, often partial."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mlplat.plan.model import SECRET, UNKNOWN, Plan, ResourceRecord

#: Values a plan cannot know offline: a rule never fails a resource on them alone.
OPAQUE = frozenset({UNKNOWN, SECRET})

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"


def truthy(value: Any) -> bool:
    """Bridged Terraform booleans arrive as bools or as the strings "true"/"false"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def dig(data: Any, *path: str | int) -> Any:
    """`data[path[0]][path[1]]...`, or None as soon as a step is missing."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or step >= len(data):
                return None
            data = data[step]
        elif isinstance(data, dict):
            data = data.get(step)
        else:
            return None
    return data


def first(value: Any) -> Any:
    """Nested Terraform blocks are sometimes one-item lists, sometimes objects."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def policy_document(value: Any) -> dict[str, Any] | None:
    """An IAM-style policy given as a JSON string or an object; None if not readable."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or value in OPAQUE:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(value: Any) -> list[dict[str, Any]]:
    document = policy_document(value)
    if document is None:
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def allows(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action"))]


def resources(statement: dict[str, Any]) -> list[str]:
    return [str(r) for r in as_list(statement.get("Resource"))]


def principal_values(statement: dict[str, Any]) -> list[str]:
    """Every principal a statement names, whatever the kind (`"*"` stays `"*"`)."""
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        return [str(p) for values in principal.values() for p in as_list(values)]
    return [str(p) for p in as_list(principal)]


def open_to_everyone(statement: dict[str, Any]) -> bool:
    """Allows `*` (anyone, any account) with no Condition narrowing who."""
    return (allows(statement) and "*" in principal_values(statement)
            and not statement.get("Condition"))


def tags(record: ResourceRecord) -> dict[str, Any]:
    value = record.inputs.get("tags")
    return value if isinstance(value, dict) else {}


def environment_tag(record: ResourceRecord) -> str | None:
    """The environment a resource belongs to: `mlplat-env` tag, else `env`."""
    found = tags(record)
    value = found.get("mlplat-env", found.get("env"))
    return str(value) if value is not None else None


def related(plan: Plan, record: ResourceRecord, type_token: str,
            key: str) -> list[ResourceRecord]:
    """Records of `type_token` whose input `key` names `record` (the name given explicitly,
    or one AWS built from its prefix or Pulumi's autoname). Only when that input is not
    known offline does a dependency on `record` count: dependencies alone are ambiguous (a
    log bucket's policy depends on the buckets that log into it)."""
    found = []
    for other in plan.of_type(type_token):
        value = other.inputs.get(key)
        if isinstance(value, str) and value not in OPAQUE:
            if names_match(record, value):
                found.append(other)
        elif record.urn in other.dependencies:
            found.append(other)
    return found


def names_match(record: ResourceRecord, value: str) -> bool:
    """Whether `value` (a name, ID or ARN seen in another record) is `record`'s."""
    for key in ("bucket", "name", "identifier", "arn"):
        given = record.inputs.get(key)
        if isinstance(given, str) and given not in OPAQUE:
            return value == given
    prefix = record.inputs.get("bucket_prefix") or record.inputs.get("name_prefix")
    if isinstance(prefix, str):
        return value.startswith(prefix)
    return value.startswith(f"{record.name}-")


# Kubernetes -------------------------------------------------------------------------------

def k8s_labels(record: ResourceRecord) -> dict[str, Any]:
    labels = dig(record.inputs, "metadata", "labels")
    return labels if isinstance(labels, dict) else {}


def k8s_name(record: ResourceRecord) -> str | None:
    name = dig(record.inputs, "metadata", "name")
    return name if isinstance(name, str) and name not in OPAQUE else None


def k8s_namespace(record: ResourceRecord) -> str | None:
    name = dig(record.inputs, "metadata", "namespace")
    return name if isinstance(name, str) and name not in OPAQUE else None


#: Where the pod template sits in each workload kind.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    # KServe model server runtimes: a pod spec inline (components/k8s/kserve.py).
    "ClusterServingRuntime": ("spec",),
}

WORKLOAD_TYPES: tuple[str, ...] = (
    "kubernetes:core/v1:Pod",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime",
)


def pod_spec(record: ResourceRecord) -> dict[str, Any]:
    kind = record.type.rsplit(":", 1)[-1]
    spec = dig(record.inputs, *_POD_SPEC_PATHS.get(kind, ("spec",)))
    return spec if isinstance(spec, dict) else {}


def containers(record: ResourceRecord) -> Iterator[dict[str, Any]]:
    """Every container of a workload, init and ephemeral ones included."""
    spec = pod_spec(record)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in as_list(spec.get(key)):
            if isinstance(container, dict):
                yield container


def container_name(container: dict[str, Any]) -> str:
    return str(container.get("name", "?"))


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) of nested dicts and lists, the root first; list items are
    named by their index."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, str(index)))
