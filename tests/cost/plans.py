"""Small hand-built plans whose cost and critical path are worked out by hand in the tests."""

from __future__ import annotations

from typing import Any

from mlplat.plan.model import Plan, ResourceRecord

STACK = "costed"
ROOT = f"urn:pulumi:{STACK}::mlplat::mlplat:compositions/aws:TeamEnvironment::env"


def urn(kind: str, name: str, parent_type: str = "mlplat:compositions/aws:TeamEnvironment"
        ) -> str:
    return f"urn:pulumi:{STACK}::mlplat::{parent_type}${kind}::{name}"


def record(kind: str, name: str, inputs: dict[str, Any] | None = None, *,
           parent: str = ROOT, dependencies: list[str] | None = None,
           provider: str | None = None, custom: bool = True) -> ResourceRecord:
    return ResourceRecord(urn=urn(kind, name), type=kind, name=name, custom=custom,
                          parent=parent, provider=provider, inputs=inputs or {},
                          dependencies=dependencies or [])


def root() -> ResourceRecord:
    return ResourceRecord(urn=ROOT, type="mlplat:compositions/aws:TeamEnvironment",
                          name="env", custom=False, parent=None, provider=None, inputs={},
                          dependencies=[])


def node_pool(name: str, limits: dict[str, int], requirements: dict[str, list[str]]
              ) -> ResourceRecord:
    return record("kubernetes:karpenter.sh/v1:NodePool", name, {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name},
        "spec": {"limits": limits, "template": {"spec": {"requirements": [
            {"key": key, "operator": "In", "values": values}
            for key, values in requirements.items()]}}}})


def costed_plan(region: str = "us-east-1", *extra: ResourceRecord) -> Plan:
    """One of each chargeable kind, priced by hand in tests/cost/test_cost.py."""
    template = record("aws:ec2/launchTemplate:LaunchTemplate", "system-lt", {
        "block_device_mappings": [{"device_name": "/dev/xvda",
                                   "ebs": {"volume_size": 50, "volume_type": "gp3"}}]})
    resources = [
        root(),
        record("aws:eks/cluster:Cluster", "eks"),
        record("aws:ec2/natGateway:NatGateway", "nat-0"),
        record("aws:ec2/natGateway:NatGateway", "nat-1"),
        record("aws:ec2/eip:Eip", "nat-ip-0"),
        record("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpc_endpoint_type": "Gateway"}),
        template,
        record("aws:eks/nodeGroup:NodeGroup", "system", {
            "instance_types": ["m7i.large"], "capacity_type": "ON_DEMAND",
            "scaling_config": {"desired_size": 2, "min_size": 2, "max_size": 4}},
            dependencies=[template.urn]),
        record("aws:rds/instance:Instance", "db", {
            "instance_class": "db.t4g.medium", "multi_az": True, "allocated_storage": 20,
            "max_allocated_storage": 100, "manage_master_user_password": True}),
        record("aws:kms/key:Key", "key"),
        record("aws:s3/bucket:Bucket", "datasets"),
        record("aws:iam/role:Role", "role"),
        node_pool("gpu", {"nvidia.com/gpu": 8}, {
            "node.kubernetes.io/instance-type": ["g6.2xlarge", "g6.xlarge"],
            "karpenter.sh/capacity-type": ["on-demand"]}),
        node_pool("cpu", {"cpu": 64}, {
            "karpenter.k8s.aws/instance-family": ["c7g"],
            "karpenter.sh/capacity-type": ["on-demand", "spot"]}),
        *extra,
    ]
    return Plan(project="mlplat", stack=STACK, source="<test>", resources=resources,
                outputs={"region": region, "env": "dev"})
