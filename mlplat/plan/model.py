"""The Plan: every resource a Pulumi program would register, recorded offline.

A Plan is the backbone of mlplat: tests, `mlplat plan`, audits, snapshots and cost
estimates all read it. Records are normalised so that two runs of the same program give
byte-identical JSON and so that nothing secret is ever written or printed.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SECRET = "[secret]"
PLAN_FORMAT = "mlplat.plan/v1"
UNKNOWN = "[unknown]"

#: Map-typed properties whose keys are user data (tag keys, label keys), never renamed.
_MAP_PROPERTIES = frozenset({"tags", "tags_all", "default_tags", "labels", "annotations",
                             "values", "string_data", "data", "selector", "parameters"})

_CAMEL_BOUNDARY_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=4096)  # a few hundred distinct names, asked for again and again
def snake_case(name: str) -> str:
    """`mapPublicIpOnLaunch` -> `map_public_ip_on_launch` (the Terraform/pulumi-aws name)."""
    if name.startswith("__"):
        return name
    return _CAMEL_BOUNDARY_2.sub(r"\1_\2", _CAMEL_BOUNDARY_1.sub(r"\1_\2", name)).lower()


@dataclass(frozen=True)
class ResourceRecord:
    """One registration: a custom resource, a component, or a provider."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def package(self) -> str:
        """`aws`, `kubernetes`, `mlplat`, `pulumi`, ..."""
        return self.type.split(":", 1)[0]

    @property
    def is_component(self) -> bool:
        return not self.custom

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    def to_json(self) -> dict[str, Any]:
        """The record as JSON. The nested values are the record's own, not copies (a plan's
        records are never changed once recorded; `asdict` copying them cost more than the
        JSON encoding of a stored plan)."""
        return {"urn": self.urn, "type": self.type, "name": self.name, "custom": self.custom,
                "parent": self.parent, "provider": self.provider, "inputs": self.inputs,
                "dependencies": self.dependencies, "options": self.options}


@dataclass
class Plan:
    """All registrations of one program run for one stack, plus its stack outputs."""

    project: str
    stack: str
    source: str
    resources: list[ResourceRecord]
    outputs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.resources = sorted(self.resources, key=lambda r: r.urn)
        self._by_urn = {r.urn: r for r in self.resources}

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, urn: str) -> ResourceRecord | None:
        return self._by_urn.get(urn)

    def of_type(self, type_token: str) -> list[ResourceRecord]:
        """Records of one type token, e.g. `aws:eks/cluster:Cluster`."""
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> ResourceRecord:
        """The single record of a type (optionally with a given name); raises if not exactly one."""
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_token} {name or ''}, found {len(found)}")
        return found[0]

    def children(self, urn: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.parent == urn]

    def managed(self) -> list[ResourceRecord]:
        """Custom resources a deployment would create (not components, not providers, not
        reads of existing ones such as stack references)."""
        return [r for r in self.resources
                if r.custom and not r.is_provider and not r.options.get("read")]

    @property
    def managed_count(self) -> int:
        return len(self.managed())

    def counts_by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.resources).items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "project": self.project,
            "stack": self.stack,
            "source": self.source,
            "summary": {
                "resources": self.managed_count,
                "components": sum(1 for r in self.resources if r.is_component),
                "providers": sum(1 for r in self.resources if r.is_provider),
                "by_type": self.counts_by_type(),
            },
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }

    def dumps(self) -> str:
        """Stable JSON: sorted keys, sorted resources, trailing newline."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Plan:
        """The Plan a `to_json` document describes (the summary is derived, not read).

        Raises KeyError, TypeError or ValueError on a document of another shape."""
        if document.get("format") != PLAN_FORMAT:
            raise ValueError(f"not an {PLAN_FORMAT} document")
        return cls(project=document["project"], stack=document["stack"],
                   source=document["source"],
                   resources=[ResourceRecord(**record) for record in document["resources"]],
                   outputs=dict(document["outputs"]))


# The Pulumi wire protocol's markers (pulumi.runtime.rpc), spelled out so that reading a plan
# never imports the SDK: the key of a special object's signature, and the unknown value.
SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
WIRE_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def normalise(value: Any, *, rename: bool, under_map: bool = False) -> Any:
    """Wire values (a registration's property struct as JSON) -> plain, stable JSON values.

    - secrets (dicts carrying Pulumi's secret signature) -> "[secret]", never their value;
    - unknowns -> "[unknown]"; floats that are whole numbers -> int (the wire has no ints);
    - resource references -> their URN; assets and archives -> a short description;
    - with `rename`, camelCase property names -> snake_case, except keys of map-typed
      properties (tag and label keys are data, not names).
    """
    kind = type(value)
    if kind is str:  # the commonest case first: a plan is mostly strings
        return UNKNOWN if value == WIRE_UNKNOWN else value
    if kind is dict or isinstance(value, Mapping):
        signature = value.get(SIGNATURE_KEY)
        if signature is not None:
            return _special(signature, value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = key if (under_map or not rename) else snake_case(key)
            out[new_key] = normalise(
                item, rename=rename, under_map=rename and new_key in _MAP_PROPERTIES
            )
        return dict(sorted(out.items()))
    if isinstance(value, list | tuple):
        return [normalise(v, rename=rename) for v in value]
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if value == WIRE_UNKNOWN:
        return UNKNOWN
    return value


def _special(signature: str, value: Mapping[str, Any]) -> Any:
    from pulumi.runtime import rpc

    if signature == rpc._special_secret_sig:
        return SECRET
    if signature == rpc._special_resource_sig:
        return value.get("urn", "[resource]")
    if signature == rpc._special_asset_sig:
        return {"asset": next((k for k in ("path", "text", "uri") if k in value), "?")}
    if signature == rpc._special_archive_sig:
        return {"archive": next((k for k in ("path", "assets", "uri") if k in value), "?")}
    if signature == rpc._special_output_value_sig:
        return SECRET if value.get("secret") else normalise(value.get("value"), rename=False)
    return "[special]"
