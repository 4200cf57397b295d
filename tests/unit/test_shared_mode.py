"""Shared or dedicated (ADR 0008): config rules, StackReference resolution offline, plan
order, the cache key, and what the plans of a platform and its tenant guarantee."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.compositions.platform import PLATFORM_OUTPUTS, SECRET_PLATFORM_OUTPUTS
from mlplat.config import ConfigError, environment_from_stack_config
from mlplat.core.paths import STACKS_DIR
from mlplat.plan import SECRET, Plan, PlanRequest, ProgramError, plan_requests, stack_request
from mlplat.plan.api import in_dependency_order
from mlplat.plan.cache import PlanCache, plan_with_cache


def stack_config(name: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((STACKS_DIR / f"Pulumi.{name}.yaml").read_text())
    return config["config"]


def error_of(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        environment_from_stack_config(config, "stacks/Pulumi.t.yaml")
    return str(error.value)


# ---------------------------------------------------------------------- config rules

@pytest.mark.parametrize(("change", "expected"), [
    ({"mlplat:cluster": {"mode": "shared"}},
     "mlplat:cluster.mode, mlplat:cluster.platformStack: mode is shared but platformStack "
     "is absent"),
    ({"mlplat:cluster": {"platformStack": "platform"}},
     "platformStack is set but mode is dedicated"),
    ({"mlplat:cluster": {"mode": "shared", "platformStack": "platform",
                         "kubernetesVersion": "1.33"}},
     "mlplat:cluster.kubernetesVersion, mlplat:cluster.mode: not allowed in shared mode"),
    ({"mlplat:network": {"vpcCidr": "10.1.0.0/16"}},
     "mlplat:network: not allowed in shared mode; it belongs to the platform stack"),
    ({"mlplat:gpuPools": []}, "mlplat:gpuPools: not allowed in shared mode"),
    ({"mlplat:cpuPools": []}, "mlplat:cpuPools: not allowed in shared mode"),
    ({"mlplat:metadataDb": {}}, "mlplat:metadataDb: not allowed in shared mode"),
    ({"mlplat:platform": {}}, "mlplat:platform: not allowed in shared mode"),
    ({"mlplat:cluster": {"mode": "shared", "platformStack": "a/b/c/d"}},
     "'a/b/c/d' is not a stack name or org/project/stack"),
])
def test_impossible_shared_mode_configs_name_the_file_and_field(
        change: dict[str, Any], expected: str) -> None:
    config = {**stack_config("nlp-dev"), **change}
    message = error_of(config)
    assert message.startswith("stacks/Pulumi.t.yaml: ")
    assert expected in message


@pytest.mark.parametrize(("change", "expected"), [
    ({"mlplat:tenancy": {"teamRoleArn": "arn:aws:iam::111122223333:role/nlp-developers"}},
     "mlplat:tenancy, mlplat:platform: not allowed on a platform stack"),
    ({"mlplat:metadataDb": None}, "mlplat:platform, mlplat:metadataDb: needs metadataDb"),
])
def test_a_platform_hosts_teams_and_needs_a_database(
        change: dict[str, Any], expected: str) -> None:
    config = {k: v for k, v in {**stack_config("platform"), **change}.items() if v is not None}
    assert expected in error_of(config)


def test_the_shipped_stacks_are_one_platform_and_a_shared_tenant() -> None:
    platform = environment_from_stack_config(stack_config("platform"), "p")
    tenant = environment_from_stack_config(stack_config("nlp-dev"), "t")
    assert platform.platform is not None and not platform.shared
    assert tenant.shared and tenant.cluster.platform_stack == "platform"


# ---------------------------------------------------------------------- references

@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    """A copy of the shipped platform and tenant stack files, to edit."""
    for name in ("platform", "nlp-dev"):
        shutil.copy(STACKS_DIR / f"Pulumi.{name}.yaml", tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_reference_to_a_missing_stack_is_a_config_error(stack_dir: Path) -> None:
    edit(stack_dir / "Pulumi.nlp-dev.yaml", "platformStack: platform", "platformStack: plat")
    with pytest.raises(ConfigError) as error:
        stack_request("nlp-dev", stack_dir)
    message = str(error.value)
    assert message.startswith(f"{stack_dir / 'Pulumi.nlp-dev.yaml'}: "
                              "mlplat:cluster.platformStack: no stack 'plat'")
    assert "known stacks: nlp-dev, platform" in message


@pytest.mark.parametrize(("reference", "expected"), [
    ("team", r"stack 'team' is not a platform \(.*Pulumi.team.yaml has no mlplat:platform\)"),
    ("nlp-dev", "stack references form a cycle: nlp-dev -> nlp-dev"),
    ("acme/other/platform", "is in project 'other'"),
])
def test_a_reference_must_be_a_platform_of_this_project(
        stack_dir: Path, reference: str, expected: str) -> None:
    shutil.copy(STACKS_DIR / "Pulumi.demo.yaml", stack_dir / "Pulumi.team.yaml")
    edit(stack_dir / "Pulumi.nlp-dev.yaml", "platformStack: platform",
         f"platformStack: {reference}")
    with pytest.raises(ConfigError, match=expected):
        stack_request("nlp-dev", stack_dir)


def test_rules_between_the_two_stacks(stack_dir: Path) -> None:
    edit(stack_dir / "Pulumi.nlp-dev.yaml", "aws:region: eu-west-1", "aws:region: eu-west-2")
    edit(stack_dir / "Pulumi.nlp-dev.yaml", "defaultPermission: READ",
         "defaultPermission: READ\n    platformNamespace: team-setup")
    with pytest.raises(ConfigError) as error:
        stack_request("nlp-dev", stack_dir)
    assert "aws:region: eu-west-2 but platform stack 'platform' is in eu-west-1" in str(
        error.value)
    assert "mlplat:mlflow.platformNamespace: team-setup but platform stack" in str(error.value)


def test_a_fully_qualified_reference_resolves_to_the_stack_file(stack_dir: Path) -> None:
    edit(stack_dir / "Pulumi.nlp-dev.yaml", "platformStack: platform",
         "platformStack: acme/mlplat/platform")
    request = stack_request("nlp-dev", stack_dir)
    assert [(name, up.stack) for name, up in request.upstream] == [
        ("acme/mlplat/platform", "platform")]


def test_platforms_are_planned_before_their_tenants() -> None:
    tenant, demo = stack_request("nlp-dev"), stack_request("demo")
    waves = in_dependency_order([tenant, demo])
    assert [[r.stack for r in wave] for wave in waves] == [["platform", "demo"], ["nlp-dev"]]


def test_a_reference_cycle_is_reported() -> None:
    def request(name: str, upstream: PlanRequest | None) -> PlanRequest:
        return PlanRequest(stack=name, config={},
                           upstream=((upstream.stack, upstream),) if upstream else ())

    a = request("a", request("b", request("a", None)))
    with pytest.raises(ConfigError, match="stack references form a cycle among: a, b"):
        in_dependency_order([a])


def test_an_unresolved_reference_fails_the_plan_naming_the_stack() -> None:
    request = stack_request("nlp-dev")
    with pytest.raises(ProgramError, match="StackReference to 'platform' has no offline plan"):
        plan_requests([PlanRequest(stack=request.stack, config=request.config,
                                   source=request.source)])


def test_a_platform_change_invalidates_its_tenants_cached_plans(
        stack_dir: Path, tmp_path: Path) -> None:
    cache = PlanCache(directory=tmp_path / "cache")
    before = cache.key(stack_request("nlp-dev", stack_dir))
    assert cache.key(stack_request("nlp-dev", stack_dir)) == before
    edit(stack_dir / "Pulumi.platform.yaml", "instanceClass: db.r7g.large",
         "instanceClass: db.r7g.xlarge")
    assert cache.key(stack_request("nlp-dev", stack_dir)) != before


def test_a_tenant_reads_a_cached_platform_plan(tmp_path: Path) -> None:
    cache = PlanCache(directory=tmp_path / "cache")
    platform = stack_request("platform")
    fresh = plan_with_cache([platform], 1, cache)
    assert [planned.from_cache for planned in fresh] == [False]
    (tenant,) = plan_with_cache([stack_request("nlp-dev")], 1, cache)
    assert not tenant.from_cache
    assert tenant.plan.one("pulumi:pulumi:StackReference").inputs == {"name": "platform"}
    assert [planned.from_cache
            for planned in plan_with_cache([stack_request("nlp-dev")], 1, cache)] == [True]


# ---------------------------------------------------------------------- the plans

@pytest.fixture(scope="module")
def platform(shared_mode_plans: dict[str, Plan]) -> Plan:
    return shared_mode_plans["platform"]


@pytest.fixture(scope="module")
def tenant(shared_mode_plans: dict[str, Plan]) -> Plan:
    return shared_mode_plans["nlp-dev"]


def test_platform_exports_what_tenants_read_with_the_kubeconfig_secret(platform: Plan) -> None:
    assert set(PLATFORM_OUTPUTS) <= set(platform.outputs)
    assert {k for k in PLATFORM_OUTPUTS if platform.outputs[k] == SECRET} == set(
        SECRET_PLATFORM_OUTPUTS)
    assert platform.outputs["cluster_name"] == "platform-prod"
    assert platform.outputs["setup_namespace"] == "mlplat-system"


def test_a_tenant_has_no_cluster_network_or_database_of_its_own(tenant: Plan) -> None:
    for type_token in ("aws:eks/cluster:Cluster", "aws:ec2/vpc:Vpc", "aws:rds/instance:Instance",
                       "aws:eks/nodeGroup:NodeGroup", "kubernetes:core/v1:Namespace"):
        assert not tenant.of_type(type_token) or type_token.endswith("Namespace"), type_token
    namespaces = {r.inputs["metadata"]["name"]
                  for r in tenant.of_type("kubernetes:core/v1:Namespace")}
    assert namespaces == {"nlp-dev"}, "the setup namespace is the platform's"
    reference = tenant.one("pulumi:pulumi:StackReference")
    assert reference.options == {"read": True} and reference not in tenant.managed()


def test_a_tenants_kubernetes_provider_keeps_the_platform_kubeconfig_secret(
        tenant: Plan) -> None:
    (provider,) = [r for r in tenant.of_type("pulumi:providers:kubernetes")]
    assert provider.inputs["kubeconfig"] == SECRET
    k8s_records = [r for r in tenant if r.type.startswith("kubernetes:")]
    assert k8s_records and all(r.provider == provider.urn for r in k8s_records)


def test_a_tenant_lands_on_the_platform_cluster_and_database(
        platform: Plan, tenant: Plan) -> None:
    for record in (*tenant.of_type("aws:eks/accessEntry:AccessEntry"),
                   *tenant.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")):
        assert record.inputs["cluster_name"] == platform.outputs["cluster_name"]
    job = tenant.one("kubernetes:batch/v1:Job")
    env = {e["name"]: e.get("value") for c in job.inputs["spec"]["template"]["spec"][
        "initContainers"] + job.inputs["spec"]["template"]["spec"]["containers"]
        for e in c["env"]}
    assert env["MASTER_SECRET_ARN"] == platform.outputs["metadata_db_secret_arn"]
    assert env["PGHOST"] == platform.outputs["metadata_db_address"]
    (db_egress,) = [r for r in tenant.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                    if r.inputs["metadata"]["name"] == "allow-metadata-db"]
    assert db_egress.inputs["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"] == (
        platform.outputs["vpc_cidr"])


def _mentions(value: Any, needle: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, needle) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needle) for v in value)
    return isinstance(value, str) and needle in value


@pytest.mark.parametrize("mode", ["dedicated", "shared"])
def test_the_master_secret_is_read_only_in_the_platform_namespace(
        mode: str, demo_plan: Plan, platform: Plan, tenant: Plan) -> None:
    """Both modes: the only Kubernetes object naming the RDS master secret is the setup Job,
    in the platform namespace, and the only role allowed to read it is that Job's."""
    plan = demo_plan if mode == "dedicated" else tenant
    secret_arn = (platform.outputs["metadata_db_secret_arn"] if mode == "shared"
                  else demo_plan.outputs["metadata_db_secret_arn"])
    team_namespaces = set(plan.outputs["team_namespaces"])
    naming = [r for r in plan if r.type.startswith("kubernetes:")
              and _mentions(r.inputs, secret_arn)]
    assert [r.type for r in naming] == ["kubernetes:batch/v1:Job"]
    assert naming[0].inputs["metadata"]["namespace"] == "mlplat-system"
    assert "mlplat-system" not in team_namespaces
    readers = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
               if _mentions(r.inputs, "secretsmanager:GetSecretValue")]
    assert [r.name.rsplit("-sa-", 1)[-1] for r in readers] == [
        f"{plan.outputs['team']}-{plan.outputs['env']}-db-setup-policy"]
    (setup,) = [a for a in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a.inputs["service_account"].endswith("-db-setup")]
    assert setup.inputs["namespace"] == "mlplat-system"


def test_the_platform_owns_and_fences_the_setup_namespace(platform: Plan, tenant: Plan) -> None:
    (namespace,) = [r for r in platform.of_type("kubernetes:core/v1:Namespace")
                    if r.inputs["metadata"]["name"] == "mlplat-system"]
    labels = namespace.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    fences = {r.inputs["metadata"]["name"]: r.inputs["spec"]
              for r in platform.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
              if r.inputs["metadata"]["namespace"] == "mlplat-system"}
    assert fences["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert "allow-metadata-db" in fences
    # Tenants add no policy there: one tenant could otherwise open paths for all.
    assert not [r for r in tenant.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if r.inputs["metadata"]["namespace"] == "mlplat-system"]
