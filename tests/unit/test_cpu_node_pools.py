"""Plan-level tests of CpuNodePools (components/aws/cpu_pools.py), read from the demo plan:
two CPU pools (arm64 with labels; amd64 spot with a taint and WhenEmpty) beside the two
GPU pools, on the same Karpenter."""

from __future__ import annotations

from typing import Any

import pytest

from mlplat.plan import Plan, ResourceRecord

pytestmark = pytest.mark.unit

CPU = "mlplat:aws/cpu_pools:CpuNodePools"
GPU = "mlplat:aws/gpu_pools:GpuNodePools"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
CPU_POOLS = ["general", "preprocessing"]


def under(plan: Plan, component: str, type_token: str) -> dict[str, ResourceRecord]:
    parent = plan.one(component)
    return {r.inputs["metadata"]["name"]: r for r in plan.children(parent.urn)
            if r.type == type_token}


def requirement(spec: dict[str, Any], key: str) -> dict[str, Any]:
    (found,) = [r for r in spec["template"]["spec"]["requirements"] if r["key"] == key]
    return found


@pytest.fixture(scope="module")
def pools(demo_plan: Plan) -> dict[str, dict[str, Any]]:
    return {name: r.inputs["spec"] for name, r in under(demo_plan, CPU, NODE_POOL).items()}


def test_one_nodepool_and_nodeclass_per_cpu_pool(demo_plan: Plan) -> None:
    assert sorted(under(demo_plan, CPU, NODE_POOL)) == CPU_POOLS
    assert sorted(under(demo_plan, CPU, NODE_CLASS)) == CPU_POOLS
    assert demo_plan.outputs["cpu_node_pools"] == CPU_POOLS
    for name, record in under(demo_plan, CPU, NODE_POOL).items():
        assert record.inputs["spec"]["template"]["spec"]["nodeClassRef"] == {
            "group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name}


def test_cpu_node_classes_are_hardened_like_gpu_ones(demo_plan: Plan) -> None:
    gpu_class = under(demo_plan, GPU, NODE_CLASS)["training"].inputs["spec"]
    for name, record in under(demo_plan, CPU, NODE_CLASS).items():
        spec = record.inputs["spec"]
        assert spec["metadataOptions"] == {
            "httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1, "httpTokens": "required"}
        (device,) = spec["blockDeviceMappings"]
        assert device["ebs"]["encrypted"] is True
        assert device["ebs"]["volumeSize"] == "50Gi"  # the CPU pool default
        assert spec["associatePublicIPAddress"] is False
        # One shape for both kinds: only the disk size and the pool tag differ.
        differing = {k for k in spec if spec[k] != gpu_class[k]}
        assert differing == {"blockDeviceMappings", "tags"}, name
        assert spec["tags"]["mlplat.io/pool"] == name


def test_requirements_follow_config_and_exclude_gpus(pools: dict[str, dict[str, Any]]) -> None:
    general, preprocessing = pools["general"], pools["preprocessing"]
    assert requirement(general, "karpenter.k8s.aws/instance-family")["values"] == ["c7g", "m7g"]
    assert requirement(general, "kubernetes.io/arch")["values"] == ["arm64"]
    assert requirement(general, "karpenter.sh/capacity-type")["values"] == ["on-demand", "spot"]
    assert requirement(preprocessing, "kubernetes.io/arch")["values"] == ["amd64"]
    assert requirement(preprocessing, "karpenter.sh/capacity-type")["values"] == ["spot"]
    for spec in pools.values():
        assert requirement(spec, "karpenter.k8s.aws/instance-gpu-count") == {
            "key": "karpenter.k8s.aws/instance-gpu-count", "operator": "DoesNotExist"}


def test_labels_and_taints_come_from_config(pools: dict[str, dict[str, Any]]) -> None:
    general = pools["general"]["template"]
    assert general["metadata"]["labels"] == {
        "workload.example.com/tier": "batch", "mlplat.io/pool": "general",
        "mlplat.io/accelerator": "none", "mlplat.io/team": "vision", "mlplat.io/purpose": "cpu"}
    assert general["spec"]["taints"] == []  # no GPU taint on CPU nodes
    assert pools["preprocessing"]["template"]["spec"]["taints"] == [
        {"key": "workload.example.com/preprocessing", "value": "true", "effect": "NoSchedule"}]


def test_limits_and_consolidation(pools: dict[str, dict[str, Any]]) -> None:
    assert pools["general"]["limits"] == {"cpu": 256}
    assert pools["preprocessing"]["limits"] == {"cpu": 512}
    assert pools["general"]["disruption"] == {
        "consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "5m",
        "budgets": [{"nodes": "10%"}]}
    assert pools["preprocessing"]["disruption"]["consolidationPolicy"] == "WhenEmpty"


def test_cpu_pools_use_the_gpu_pools_karpenter(demo_plan: Plan) -> None:
    gpu = demo_plan.one(GPU)
    controller = [r for r in demo_plan.children(gpu.urn) if r.name.endswith("-gpu-karpenter")]
    (controller,) = controller
    profile = [r for r in demo_plan.children(gpu.urn) if r.name.endswith("-node-profile")]
    for record in [*under(demo_plan, CPU, NODE_CLASS).values(),
                   *under(demo_plan, CPU, NODE_POOL).values()]:
        assert controller.urn in record.dependencies
        assert profile[0].urn in record.dependencies
    for record in under(demo_plan, CPU, NODE_CLASS).values():
        assert record.inputs["spec"]["instanceProfile"] == "vision-staging-gpu-node-profile"
