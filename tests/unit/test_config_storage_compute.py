"""Config validation of `mlplat:cpuPools`, `mlplat:blockStorage` and
`mlplat:sharedFilesystem`: every rule refuses bad input with the stack file and the full
field path in the message, and good input passes."""

from __future__ import annotations

from typing import Any

import pytest
from test_config import SOURCE, error_of, parse

from mlplat.config import ReclaimPolicy

pytestmark = pytest.mark.unit

POOL: dict[str, Any] = {"name": "cpu", "instanceFamilies": ["m7i"], "cpuLimit": 64}


def with_pool(demo_config: dict[str, Any], **fields: Any) -> dict[str, Any]:
    demo_config["mlplat:cpuPools"] = [{**POOL, **fields}]
    return demo_config


# ------------------------------------------------------------------ cpuPools


def test_demo_cpu_pools_parse(demo_config):
    env = parse(demo_config)
    assert [p.name for p in env.cpu_pools] == ["general", "preprocessing"]
    assert env.cpu_pools[0].labels == {"workload.example.com/tier": "batch"}


@pytest.mark.parametrize(("fields", "path", "fragment"), [
    ({"instanceFamilies": ["m7x"]}, "mlplat:cpuPools[0].instanceFamilies",
     "m7x is not a general-purpose family"),
    ({"instanceFamilies": ["g5"]}, "mlplat:cpuPools[0].instanceFamilies",
     "g5 is not a general-purpose family"),
    ({"instanceFamilies": ["m7i", "m7i"]}, "mlplat:cpuPools[0].instanceFamilies",
     "duplicate entries"),
    ({"instanceFamilies": []}, "mlplat:cpuPools[0].instanceFamilies", "at least 1"),
    ({"architecture": "arm64"},
     "mlplat:cpuPools[0].instanceFamilies[0], mlplat:cpuPools[0].architecture",
     "m7i is x86_64, not the pool's architecture arm64"),
    ({"architecture": "x86"}, "mlplat:cpuPools[0].architecture", "'amd64' or 'arm64'"),
    ({"cpuLimit": 0}, "mlplat:cpuPools[0].cpuLimit", "greater than or equal to 1"),
    ({"capacityTypes": ["spot", "spot"]}, "mlplat:cpuPools[0].capacityTypes",
     "capacityTypes has duplicate"),
    ({"consolidationPolicy": "Always"}, "mlplat:cpuPools[0].consolidationPolicy",
     "'WhenEmpty' or 'WhenEmptyOrUnderutilized'"),
    ({"consolidateAfter": "5 minutes"}, "mlplat:cpuPools[0].consolidateAfter", "duration"),
    ({"disruptionBudgetNodes": "150%"}, "mlplat:cpuPools[0].disruptionBudgetNodes",
     "percentage"),
    ({"name": "CPU"}, "mlplat:cpuPools[0].name", "DNS label"),
])
def test_cpu_pool_rules(demo_config, fields, path, fragment):
    message = error_of(with_pool(demo_config, **fields))
    assert message.startswith(f"{SOURCE}: {path}: "), message
    assert fragment in message


@pytest.mark.parametrize(("labels", "fragment"), [
    ({"-bad": "x"}, "not a Kubernetes qualified name"),
    ({"a" * 64: "x"}, "not a Kubernetes qualified name"),
    ({"Example.COM/tier": "x"}, "is not a DNS subdomain"),
    ({"node-role.kubernetes.io/worker": ""}, "kubernetes.io domain is reserved"),
    ({"karpenter.sh/nodepool": "x"}, "karpenter.sh domain is reserved"),
    ({"mlplat.io/team": "other"}, "mlplat.io domain is reserved"),
    ({"tier": "has space"}, "not a Kubernetes label value"),
    ({"tier": "v" * 64}, "not a Kubernetes label value"),
    ({"tier": "ends-"}, "not a Kubernetes label value"),
])
def test_cpu_pool_label_syntax(demo_config, labels, fragment):
    message = error_of(with_pool(demo_config, labels=labels))
    assert message.startswith(f"{SOURCE}: mlplat:cpuPools[0].labels"), message
    assert fragment in message


def test_good_labels_pass(demo_config):
    labels = {"tier": "", "example.com/team-a_b.c": "V1.2-x_y", "a.b.c/d": "e"}
    assert parse(with_pool(demo_config, labels=labels)).cpu_pools[0].labels == labels


@pytest.mark.parametrize(("taints", "path", "fragment"), [
    ([{"key": "a b", "effect": "NoSchedule"}], "taints[0].key", "qualified name"),
    ([{"key": "dedicated", "value": "x y", "effect": "NoSchedule"}], "taints[0].value",
     "label value"),
    ([{"key": "dedicated", "effect": "NoRun"}], "taints[0].effect",
     "'NoSchedule', 'PreferNoSchedule' or 'NoExecute'"),
    ([{"key": "dedicated"}], "taints[0].effect", "required field is missing"),
    ([{"key": "kubernetes.io/x", "effect": "NoSchedule"}], "taints[0].key", "reserved"),
])
def test_cpu_pool_taint_syntax(demo_config, taints, path, fragment):
    message = error_of(with_pool(demo_config, taints=taints))
    assert message.startswith(f"{SOURCE}: mlplat:cpuPools[0].{path}: "), message
    assert fragment in message


def test_duplicate_taint_key_and_effect(demo_config):
    taints = [{"key": "d", "effect": "NoSchedule"}, {"key": "d", "effect": "NoSchedule"}]
    message = error_of(with_pool(demo_config, taints=taints))
    assert message == f"{SOURCE}: mlplat:cpuPools[0].taints[1]: d:NoSchedule appears twice"
    # Same key with another effect is fine (Kubernetes allows it).
    taints[1]["effect"] = "NoExecute"
    assert len(parse(with_pool(demo_config, taints=taints)).cpu_pools[0].taints) == 2


def test_pool_names_are_unique_across_gpu_and_cpu_pools(demo_config):
    message = error_of(with_pool(demo_config, name="training"))
    assert message == (f"{SOURCE}: mlplat:gpuPools, mlplat:cpuPools: duplicate pool names "
                       "['training']")


# ------------------------------------------------------------------ blockStorage


def _prod(demo_config: dict[str, Any]) -> dict[str, Any]:
    demo_config["mlplat:env"] = "prod"
    demo_config.pop("mlplat:metadataDb")  # its prod rules are not under test here
    demo_config.pop("mlplat:mlflow")  # needs the database
    return demo_config


def test_reclaim_policy_defaults_by_protection(demo_config):
    demo_config.pop("mlplat:blockStorage")
    assert parse(demo_config).block_storage.effective_reclaim_policy(False) is ReclaimPolicy.DELETE
    env = parse(_prod(demo_config))
    assert env.block_storage.effective_reclaim_policy(env.deletion_protection) is (
        ReclaimPolicy.RETAIN)


def test_delete_reclaim_policy_refused_in_prod(demo_config):
    config = _prod(demo_config)
    config["mlplat:blockStorage"] = {"reclaimPolicy": "Delete"}
    message = error_of(config)
    assert message.startswith(f"{SOURCE}: mlplat:blockStorage.reclaimPolicy: "), message
    assert "blockStorage.reclaimPolicy is Delete in prod" in message
    config["mlplat:protectData"] = False
    assert parse(config).block_storage.reclaim_policy is ReclaimPolicy.DELETE


def test_reclaim_policy_values(demo_config):
    demo_config["mlplat:blockStorage"] = {"reclaimPolicy": "Recycle"}
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: mlplat:blockStorage.reclaimPolicy: "), message


# ------------------------------------------------------------------ sharedFilesystem


@pytest.mark.parametrize(("fields", "path", "fragment"), [
    ({"transitionToIaDays": 45}, "mlplat:sharedFilesystem.transitionToIaDays",
     "transitionToIaDays 45 is not"),
    ({"gidRangeStart": 1000}, "mlplat:sharedFilesystem.gidRangeStart",
     "greater than or equal to 50000"),
    ({"gidRangeEnd": 8000000}, "mlplat:sharedFilesystem.gidRangeEnd",
     "less than or equal to 7000000"),
    ({"gidRangeStart": 60000, "gidRangeEnd": 60000},
     "mlplat:sharedFilesystem.gidRangeStart, mlplat:sharedFilesystem.gidRangeEnd",
     "gidRangeStart (60000) must be below gidRangeEnd (60000)"),
    ({"throughputMode": "provisioned"}, "mlplat:sharedFilesystem.throughputMode",
     "'elastic' or 'bursting'"),
    ({"size": 10}, "mlplat:sharedFilesystem.size", "unknown key"),
])
def test_shared_filesystem_rules(demo_config, fields, path, fragment):
    demo_config["mlplat:sharedFilesystem"] = fields
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: {path}: "), message
    assert fragment in message


def test_shared_filesystem_is_off_unless_configured(demo_config):
    demo_config.pop("mlplat:sharedFilesystem")
    assert parse(demo_config).shared_filesystem is None


def test_backup_off_refused_in_prod(demo_config):
    config = _prod(demo_config)
    config["mlplat:sharedFilesystem"] = {"backup": False}
    message = error_of(config)
    assert message.startswith(f"{SOURCE}: mlplat:sharedFilesystem.backup: "), message
    assert "sharedFilesystem.backup is false in prod" in message
    config["mlplat:sharedFilesystem"] = {}
    env = parse(config)
    assert env.shared_filesystem is not None
    assert env.shared_filesystem.effective_backup(env.deletion_protection) is True
