"""Properties of the whole demo environment plan that no single component owns."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import subprocess
import sys

import pytest

from mlplat.config import REQUIRED_TAGS

pytestmark = pytest.mark.unit


@functools.cache
def accepts_tags(type_token: str) -> bool:
    """Whether the pulumi_aws resource class for `type_token` has a `tags` argument."""
    _package, module_path, class_name = type_token.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}"
                                     if module_path.split("/")[0] != "index" else "pulumi_aws")
    resource_class = getattr(module, class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def test_demo_plan_is_a_complete_environment(demo_plan):
    assert len(demo_plan.managed()) > 60
    for token in ("aws:ec2/vpc:Vpc", "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup",
                  "kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"):
        assert demo_plan.of_type(token), f"no {token} in the demo plan"
    nodepools = [r for r in demo_plan.of_type("kubernetes:karpenter.sh/v1:NodePool")]
    assert sorted(r.inputs["metadata"]["name"] for r in nodepools) == [
        "general", "preprocessing", "serving", "training"]


def test_every_taggable_aws_resource_carries_the_required_tags(demo_plan):
    checked = 0
    for record in demo_plan.managed():
        if record.package != "aws" or not accepts_tags(record.type):
            continue
        tags = record.inputs.get("tags") or {}
        missing = [t for t in REQUIRED_TAGS if t not in tags]
        assert not missing, f"{record.type} {record.name} lacks tags {missing}"
        assert tags["team"] == "vision" and tags["env"] == "staging"
        assert tags["cost-center"] == "cc-4711"
        checked += 1
    assert checked > 30  # the check really ran over the environment


def test_aws_resources_use_the_environment_provider(demo_plan):
    providers = demo_plan.of_type("pulumi:providers:aws")
    assert len(providers) == 1
    provider = providers[0]
    assert provider.inputs["region"] == "eu-west-1"
    assert provider.inputs["default_tags"]["tags"]["cost-center"] == "cc-4711"
    for record in demo_plan.managed():
        if record.package == "aws":
            assert record.provider == provider.urn, record.urn


def test_kubernetes_resources_use_the_cluster_provider(demo_plan):
    providers = demo_plan.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 1
    for record in demo_plan.managed():
        if record.package == "kubernetes":
            assert record.provider == providers[0].urn, record.urn


def test_everything_hangs_under_the_team_environment(demo_plan):
    root = demo_plan.one("mlplat:compositions/aws:TeamEnvironment")
    assert root.name == "vision-staging"
    for record in demo_plan.resources:
        if record is root:
            continue
        chain, parent = [], record.parent
        while parent and parent != root.urn:
            chain.append(parent)
            parent = demo_plan.get(parent).parent if demo_plan.get(parent) else None
        assert parent == root.urn, f"{record.urn} is not under the environment"


def test_private_endpoint_is_reachable_only_from_the_configured_network(demo_plan):
    cluster = demo_plan.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["vpc_config"]["endpoint_public_access"] is False
    ingress = demo_plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    api_rules = [r for r in ingress if r.inputs.get("cidr_ipv4")]
    assert [(r.inputs["cidr_ipv4"], r.inputs["from_port"], r.inputs["to_port"])
            for r in api_rules] == [("10.200.0.0/16", 443, 443)]


def test_stack_exports(demo_plan):
    outputs = demo_plan.outputs
    assert outputs["team"] == "vision" and outputs["env"] == "staging"
    assert outputs["cluster_name"] == "vision-staging"
    assert sorted(outputs["gpu_node_pools"]) == ["serving", "training"]
    assert len(outputs["private_subnet_ids"]) == 3
    kubeconfig = json.loads(outputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == ["eks", "get-token", "--cluster-name", "vision-staging",
                                            "--region", "eu-west-1", "--output", "json"]
    assert set(user["user"]) == {"exec"}, "no static token or client certificate"


def test_configuration_reference_is_fresh():
    result = subprocess.run([sys.executable, "-m", "mlplat.docgen", "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ type tokens


def _component_classes() -> dict[str, type]:
    """Every ComponentResource class defined under components/, by class name."""
    import pkgutil

    import pulumi

    import components

    for info in pkgutil.walk_packages(components.__path__, "components."):
        importlib.import_module(info.name)
    classes: dict[str, type] = {}
    pending = list(pulumi.ComponentResource.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("components."):
            assert cls.__name__ not in classes, f"two components named {cls.__name__}"
            classes[cls.__name__] = cls
    return classes


def _rule_token(cls: type) -> str:
    """`mlplat:<area>/<module>:<Type>` from where the class is defined (components/__init__.py)."""
    module = cls.__module__.removeprefix("components.").replace(".", "/")
    return f"mlplat:{module}:{cls.__name__}"


def test_component_type_tokens_follow_the_documented_rule(demo_plan, shared_mode_plans):
    from mlplat.plan import plan_stack

    classes = _component_classes()
    # the AWS and the on-prem substrate, a platform and its shared-mode tenant
    plans = [demo_plan, plan_stack("onprem-demo"), *shared_mode_plans.values()]
    planned = [r for plan in plans for r in plan
               if r.is_component and r.type.startswith("mlplat:")]
    # Every component class is exercised by the shipped plans, so none escapes the check.
    assert {r.type.rsplit(":", 1)[-1] for r in planned} == set(classes)
    for record in planned:
        cls = classes[record.type.rsplit(":", 1)[-1]]
        assert record.type == _rule_token(cls), f"{cls.__module__}.{cls.__name__}"
        assert record.type == sys.modules[cls.__module__].TOKEN


# ------------------------------------------------------------------ tag budget

#: Tags Karpenter puts on the instances it launches on top of the EC2NodeClass's spec.tags.
KARPENTER_INSTANCE_TAGS = ("Name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                           "karpenter.k8s.aws/ec2nodeclass", "kubernetes.io/cluster/<name>",
                           "eks:eks-cluster-name")


def test_no_resource_adds_more_tags_than_config_keeps_room_for(demo_plan):
    # Config caps the user's tags so that environment tags + TAGS_ADDED_PER_RESOURCE <= 50;
    # that only holds if no resource (or instance Karpenter launches) gets more on top.
    from mlplat.config import TAGS_ADDED_PER_RESOURCE, load_stack_file
    from mlplat.core.paths import STACKS_DIR

    environment = load_stack_file(STACKS_DIR / "Pulumi.demo.yaml").effective_tags("demo")
    added: dict[str, int] = {}
    for record in demo_plan.managed():
        tags = record.inputs.get("tags") if record.package == "aws" else None
        if isinstance(tags, dict):
            added[record.name] = len(set(tags) - set(environment))
    for record in demo_plan.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        spec_tags = record.inputs["spec"]["tags"]
        added[record.name] = len(set(spec_tags) - set(environment)) + len(
            KARPENTER_INSTANCE_TAGS)
    assert len(added) > 40
    worst = max(added, key=lambda name: added[name])
    assert added[worst] <= TAGS_ADDED_PER_RESOURCE, (worst, added[worst])
