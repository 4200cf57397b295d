"""The on-prem substrate (issue #10): config rules, the shipped example stack's plan, its
security settings, Kubernetes schemas, the CloudNativePG CRD fields it writes, and that no
generated credential reaches a plan or printed output."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.onprem.cloudnativepg import CLUSTER_CRD_FIELDS, FREE_FORM_FIELDS
from components.versions import (
    CLOUDNATIVEPG_CHART_VERSION,
    MINIO_CHART_VERSION,
)
from mlplat.config import ConfigError, environment_from_stack_config
from mlplat.core.paths import REPO_ROOT, STACKS_DIR
from mlplat.plan import Plan, ResourceRecord, plan_environment, plan_stack
from mlplat.plan.mocks import digest

pytestmark = pytest.mark.unit

STACK_FILE = STACKS_DIR / "Pulumi.onprem-demo.yaml"
TEMPLATE_FILE = STACKS_DIR / "templates" / "onprem-team.yaml"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
DATA_NAMESPACE = "vision-prod-data"


def stack_config() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(STACK_FILE.read_text())["config"])


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_stack("onprem-demo")


def values_of(plan: Plan, chart: str) -> dict[str, Any]:
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == chart]
    return dict(release.inputs["values"])


# ------------------------------------------------------------------ config


@pytest.mark.parametrize(("key", "value", "named"), [
    ("mlplat:metadataDb", {"instanceClass": "db.t4g.medium"}, "mlplat:metadataDb"),
    ("mlplat:gpuPools", [{"name": "training", "purpose": "training", "accelerator": "a10g",
                          "instanceFamilies": ["g5"], "gpuLimit": 8}], "mlplat:gpuPools"),
    ("mlplat:sharedFilesystem", {}, "mlplat:sharedFilesystem"),
    ("mlplat:blockStorage", {"reclaimPolicy": "Retain"}, "mlplat:blockStorage"),
    ("aws:region", "eu-west-1", "aws:region"),
    ("mlplat:cluster", {"adminRoleArns": ["arn:aws:iam::111122223333:role/a"]},
     "mlplat:cluster"),
])
def test_aws_only_layers_are_refused_on_prem(key: str, value: Any, named: str) -> None:
    config = stack_config()
    config[key] = value
    with pytest.raises(ConfigError) as error:
        environment_from_stack_config(config, "stacks/Pulumi.x.yaml")
    message = str(error.value)
    assert "stacks/Pulumi.x.yaml" in message and named in message and "AWS-only" in message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c["mlplat:tenancy"].__setitem__(
        "teamRoleArn", "arn:aws:iam::111122223333:role/x"), "tenancy.teamRoleArn is AWS-only"),
    (lambda c: c["mlplat:objectStore"]["buckets"]["datasets"].__setitem__(
        "intelligentTieringAfterDays", 0), "buckets.datasets.intelligentTieringAfterDays"),
    (lambda c: c["mlplat:onprem"]["metadataDb"]["cloudnativepg"].__setitem__("instances", 1),
     "prod runs 3"),
    (lambda c: c["mlplat:onprem"]["objectStore"]["minio"].__setitem__("mode", "standalone"),
     "prod runs distributed"),
    (lambda c: c["mlplat:onprem"].pop("kubeconfigPath"), "exactly one of kubeconfigPath"),
    (lambda c: [c.pop("mlplat:onprem"), c.pop("mlplat:mlflow")],
     "mlplat:onprem is required"),
    (lambda c: c["mlplat:onprem"].__setitem__("dataNamespace", "vision-prod"),
     "one of the team's own namespaces"),
])
def test_impossible_on_prem_combinations_name_the_field(change: Any, expected: str) -> None:
    config = stack_config()
    change(config)
    with pytest.raises(ConfigError, match=r"stacks/Pulumi\.x\.yaml") as error:
        environment_from_stack_config(config, "stacks/Pulumi.x.yaml")
    assert expected in str(error.value)


def test_aws_stacks_refuse_the_onprem_layer(demo_stack_config: dict[str, Any]) -> None:
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:onprem"] = stack_config()["mlplat:onprem"]
    with pytest.raises(ConfigError, match="mlplat:onprem is set but mlplat:substrate is 'aws'"):
        environment_from_stack_config(config, "stacks/Pulumi.demo.yaml")
    del config["mlplat:onprem"], config["aws:region"]
    with pytest.raises(ConfigError, match="aws:region: required field is missing"):
        environment_from_stack_config(config, "stacks/Pulumi.demo.yaml")


def test_cli_exits_2_naming_file_and_field_and_writes_nothing(tmp_path: Path) -> None:
    config = stack_config()
    config["mlplat:metadataDb"] = {}
    (tmp_path / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": config}))
    out = tmp_path / "out.json"
    result = subprocess.run(
        [sys.executable, "-m", "mlplat.cli", "plan", "bad", "--stack-dir", str(tmp_path),
         "--json", str(out), "--no-cache"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert result.returncode == 2, result.stderr
    assert "Pulumi.bad.yaml" in result.stderr and "mlplat:metadataDb" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


# ------------------------------------------------------------------ the plan


def test_the_on_prem_plan_creates_nothing_in_aws(plan: Plan) -> None:
    packages = {record.package for record in plan}
    assert "aws" not in packages
    assert not [r for r in plan if r.type.startswith("pulumi:providers:aws")]
    assert {"kubernetes", "random"} <= packages
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    # The path is shown; no kubeconfig contents exist in the plan.
    assert provider.inputs["kubeconfig"] == "/etc/mlplat/kubeconfigs/vision-prod.yaml"


def test_kubeconfig_given_as_a_secret_stays_masked() -> None:
    config = stack_config()
    del config["mlplat:onprem"]["kubeconfigPath"]
    config["mlplat:onprem"]["kubeconfig"] = (
        "apiVersion: v1\nusers: [{name: a, user: {token: tok-1234567890}}]")
    environment = environment_from_stack_config(config, "<test>")
    assert "tok-1234567890" not in repr(environment)
    plan = plan_environment(environment, "onprem-demo")
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert "tok-1234567890" not in plan.dumps()


def test_data_namespace_is_fenced_and_restricted(plan: Plan) -> None:
    namespace = plan.one(NAMESPACE, "vision-prod-data-namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "mlplat.io/team" not in labels  # a platform namespace: team RBAC does not reach it
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(NETWORK_POLICY)
                if r.inputs["metadata"]["namespace"] == DATA_NAMESPACE}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    (team_rule,) = policies["allow-from-team"]["ingress"]
    assert team_rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "vision-prod"]
    assert {p["port"] for p in team_rule["ports"]} == {9000, 5432}
    assert policies["allow-api-server"]["egress"][0] == {
        "to": [{"ipBlock": {"cidr": "10.60.0.0/28"}}], "ports": [{"protocol": "TCP", "port": 6443}]}


def test_team_pods_may_reach_the_data_services_only_by_namespace(plan: Plan) -> None:
    team = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(NETWORK_POLICY)
            if r.inputs["metadata"]["namespace"] == "vision-prod"}
    for policy, port in (("allow-object-store", 9000), ("allow-metadata-db", 5432)):
        (rule,) = team[policy]["egress"]
        assert rule["to"] == [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": DATA_NAMESPACE}}}]
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    assert "allow-pod-identity-agent" not in team


def test_team_group_is_bound_from_config(plan: Plan) -> None:
    (binding,) = plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["subjects"] == [{"kind": "Group", "name": "vision-prod-members",
                                           "apiGroup": "rbac.authorization.k8s.io"}]
    assert not plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")


def test_minio_security_settings(plan: Plan) -> None:
    values = values_of(plan, "minio")
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "minio"]
    assert release.inputs["version"] == MINIO_CHART_VERSION
    assert release.inputs["repositoryOpts"]["repo"].startswith("https://")
    assert values["tls"]["enabled"] is True and values["tls"]["certSecret"] == "minio-tls"
    assert "rootPassword" not in values and values["existingSecret"] == "minio-root"
    assert values["mode"] == "distributed" and values["replicas"] == 4
    assert values["service"]["type"] == "ClusterIP"
    assert values["consoleService"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False and values["consoleIngress"]["enabled"] is False
    assert {b["name"]: (b["versioning"], b["policy"]) for b in values["buckets"]} == {
        "vision-prod-artifacts": (True, "none"), "vision-prod-backups": (True, "none"),
        "vision-prod-datasets": (True, "none")}
    # No user with a password in values (the chart's default `console`/`console123` is gone).
    assert [set(u) for u in values["users"]] == [
        {"accessKey", "existingSecret", "existingSecretKey", "policy"}] * 3
    assert values["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert values["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_minio_policies_grant_what_the_config_grants(plan: Plan) -> None:
    policies = {p["name"]: p["statements"] for p in values_of(plan, "minio")["policies"]}
    training = policies["vision-prod-training"]
    resources = {r for statement in training for r in statement["resources"]}
    assert resources == {
        "arn:aws:s3:::vision-prod-datasets", "arn:aws:s3:::vision-prod-datasets/*",
        "arn:aws:s3:::vision-prod-artifacts", "arn:aws:s3:::vision-prod-artifacts/checkpoints/*",
        "arn:aws:s3:::vision-prod-artifacts/models/*"}
    datasets_objects = [s for s in training
                        if s["resources"] == ["arn:aws:s3:::vision-prod-datasets/*"]]
    assert [s["actions"] for s in datasets_objects] == [["s3:GetObject", "s3:GetObjectVersion"]]
    for statements in policies.values():
        for statement in statements:
            assert all("*" not in action for action in statement["actions"])
            assert "s3:DeleteObjectVersion" not in statement["actions"]
    assert {r for s in policies["vision-prod-mlflow"] for r in s["resources"]} == {
        "arn:aws:s3:::vision-prod-artifacts", "arn:aws:s3:::vision-prod-artifacts/mlflow/*"}


def test_credentials_reach_workloads_only_as_secret_references(plan: Plan) -> None:
    secrets = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r
               for r in plan.of_type(SECRET)}
    assert ("vision-prod", "training-s3") in secrets and ("vision-prod", "mlflow-s3") in secrets
    for secret in secrets.values():
        assert secret.inputs["stringData"] == "[secret]"
    (deployment,) = plan.of_type("kubernetes:apps/v1:Deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow-s3", "key": "AWS_SECRET_ACCESS_KEY"}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == "https://minio.vision-prod-data.svc:9000"
    assert env["AWS_CA_BUNDLE"]["value"].endswith("/ca.crt")


def test_cloudnativepg_security_settings(plan: Plan) -> None:
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "cloudnative-pg"]
    assert release.inputs["version"] == CLOUDNATIVEPG_CHART_VERSION
    spec = plan.one(CNPG_CLUSTER).inputs["spec"]
    assert spec["instances"] == 3
    assert spec["enableSuperuserAccess"] is False
    assert spec["postgresql"]["pg_hba"] == ["hostnossl all all all reject"]
    assert spec["postgresql"]["parameters"]["ssl_min_protocol_version"] == "TLSv1.3"
    assert spec["certificates"] == {"serverTLSSecret": "vision-prod-metadata-server-tls",
                                    "serverCASecret": "vision-prod-metadata-server-tls"}
    store = spec["backup"]["barmanObjectStore"]
    assert store["endpointURL"].startswith("https://")
    assert store["destinationPath"] == "s3://vision-prod-backups/vision-prod-metadata"
    assert store["endpointCA"] == {"name": "minio-tls", "key": "ca.crt"}
    assert spec["backup"]["retentionPolicy"] == "14d"
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    assert spec["bootstrap"]["initdb"]["dataChecksums"] is True
    (scheduled,) = plan.of_type("kubernetes:postgresql.cnpg.io/v1:ScheduledBackup")
    assert scheduled.inputs["spec"]["method"] == "barmanObjectStore"


def test_dev_defaults_one_instance_and_standalone_is_allowed() -> None:
    config = stack_config()
    config["mlplat:env"] = "dev"
    config["mlplat:tenancy"]["group"] = "vision-dev-members"
    del config["mlplat:onprem"]["metadataDb"]["cloudnativepg"]["instances"]
    config["mlplat:onprem"]["objectStore"]["minio"]["mode"] = "standalone"
    dev = plan_environment(environment_from_stack_config(config, "<test>"), "dev")
    assert dev.one(CNPG_CLUSTER).inputs["spec"]["instances"] == 1
    assert values_of(dev, "minio")["replicas"] == 1


# ------------------------------------------------------------------ CRD fields


def spec_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every field path below a spec (lists are walked through, items share the path)."""
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            if path not in FREE_FORM_FIELDS:
                yield from spec_paths(child, path)
    elif isinstance(value, list):
        for item in value:
            yield from spec_paths(item, prefix)


def test_every_cloudnativepg_field_written_exists_in_the_pinned_crd(plan: Plan) -> None:
    written = 0
    for record in plan:
        if not record.type.startswith("kubernetes:postgresql.cnpg.io/v1:"):
            continue
        kind = record.type.rsplit(":", 1)[1]
        unknown = set(spec_paths(record.inputs["spec"])) - CLUSTER_CRD_FIELDS[kind]
        assert not unknown, f"{kind}: not in the pinned CRD fact table: {sorted(unknown)}"
        written += 1
    assert written == 3


def test_crd_check_catches_a_misspelt_field() -> None:
    paths = set(spec_paths({"backup": {"barmanObjectStore": {"endpointUrl": "x"}}}))
    assert paths - CLUSTER_CRD_FIELDS["Cluster"] == {"backup.barmanObjectStore.endpointUrl"}


# ------------------------------------------------------------------ schemas


#: Kubernetes objects kubernetes-validate cannot check, and why.
NOT_SCHEMA_CHECKED = ("kubernetes:helm.sh/v3:Release",  # a Helm release, not an object
                      "kubernetes:cert-manager.io/",    # CRDs: no offline schema
                      "kubernetes:postgresql.cnpg.io/")


def manifest(record: ResourceRecord) -> dict[str, Any]:
    out = dict(record.inputs)
    if out.get("stringData") == "[secret]":
        out["stringData"] = {}
    return out


def test_core_kubernetes_objects_are_valid_strictly(plan: Plan) -> None:
    checked = 0
    for record in plan.managed():
        if record.package != "kubernetes" or record.type.startswith(NOT_SCHEMA_CHECKED):
            continue
        if record.is_provider:
            continue
        kubernetes_validate.validate(manifest(record), "1.33", strict=True)
        checked += 1
    assert checked >= 35


# ------------------------------------------------------------------ secrets


def generated_values(plan: Plan) -> list[str]:
    """The values the offline mocks give the plan's generated passwords and keys."""
    values = []
    for record in plan.of_type(RANDOM_PASSWORD):
        length = int(record.inputs["length"])
        values.append(digest("random", RANDOM_PASSWORD, record.name, length=length)[:length])
    return values


def test_no_generated_credential_appears_in_the_plan_or_printed_output(
    plan: Plan, tmp_path: Path,
) -> None:
    values = generated_values(plan)
    assert len(values) == 7  # root, 3 users (training, mlflow, backups), db, mlflow x2
    text = plan.dumps()
    out = tmp_path / "plan.json"
    printed = subprocess.run(
        [sys.executable, "-m", "mlplat.cli", "plan", "onprem-demo", "--json", str(out),
         "--no-cache"], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    audit = subprocess.run(
        [sys.executable, "-m", "mlplat.cli", "audit", "onprem-demo", "--format", "json"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert "[secret]" in text and "[secret]" in out.read_text()  # the secrets are there, masked
    for shown in (text, out.read_text(), printed.stdout + printed.stderr,
                  audit.stdout + audit.stderr):
        for value in values:
            assert value not in shown
    assert json.loads(out.read_text())


def test_the_leak_check_would_see_a_leak(plan: Plan) -> None:
    (value, *_) = generated_values(plan)
    assert value not in plan.dumps()
    assert value in json.dumps({"leaked": value})


# ------------------------------------------------------------------ template


def test_template_renders_the_shape_of_the_example_stack() -> None:
    template = yaml.safe_load(TEMPLATE_FILE.read_text())
    assert set(template) == {"description", "parameters", "creates", "config"}

    def keys(value: Any, prefix: str = "") -> set[str]:
        if isinstance(value, dict):
            return {k for key, child in value.items()
                    for k in {f"{prefix}{key}"} | keys(child, f"{prefix}{key}.")}
        if isinstance(value, list):
            return {k for item in value for k in keys(item, prefix + "[].")}
        return set()

    assert keys(template["config"]) == keys(stack_config())
    parameters = template["parameters"]
    assert parameters["team"]["required"] and parameters["costCenter"]["required"]
    defaults = {name: p.get("default") for name, p in parameters.items()}
    defaults.update(team="vision", costCenter="cc-4711", owner="team-lead@example.com")
    rendered = yaml.safe_load(render(TEMPLATE_FILE.read_text(), defaults))["config"]
    environment_from_stack_config(rendered, str(TEMPLATE_FILE))


def render(text: str, values: dict[str, Any]) -> str:
    """A stand-in for the template loader: each `"{{ name }}"` scalar becomes its value."""
    for name, value in values.items():
        text = text.replace(f'"{{{{ {name} }}}}"', json.dumps(value))
    assert "{{" not in text
    return text


# ------------------------------------------------------------------ snapshot

GOLDEN = REPO_ROOT / "plans" / "onprem-demo.json"


def test_on_prem_plan_matches_committed_snapshot(plan: Plan) -> None:
    """Reviewers read this file's diffs; `MLPLAT_UPDATE_GOLDEN=1` (make snapshots) rewrites
    it."""
    import os

    current = plan.dumps()
    if os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(current)
    assert GOLDEN.read_text() == current, "run `make snapshots` if the change is intended"


# ------------------------------------------------------------------ external services


def test_external_object_store_and_database() -> None:
    config = stack_config()
    config["mlplat:onprem"]["objectStore"] = {"external": {
        "endpoint": "https://s3.example.internal", "cidr": "10.70.0.0/24",
        "bucketNames": {"datasets": "ds-bucket", "artifacts": "art-bucket"},
        "accessKeyId": "EXTERNALKEYID0000001", "secretAccessKey": "external-secret-0000001"}}
    config["mlplat:onprem"]["metadataDb"] = {"external": {
        "host": "pg.example.internal", "cidr": "10.70.1.0/24", "username": "vision_prod",
        "password": "external-password-0000001"}}
    environment = environment_from_stack_config(config, "<test>")
    external = plan_environment(environment, "onprem-demo")
    text = external.dumps()
    for value in ("EXTERNALKEYID0000001", "external-secret-0000001",
                  "external-password-0000001"):
        assert value not in text and value not in repr(environment)
    assert not external.of_type(RELEASE) and not external.of_type(CNPG_CLUSTER)
    assert not external.of_type(NAMESPACE) or all(
        r.inputs["metadata"]["name"] != DATA_NAMESPACE for r in external.of_type(NAMESPACE))
    team = {r.inputs["metadata"]["name"]: r.inputs["spec"]
            for r in external.of_type(NETWORK_POLICY)
            if r.inputs["metadata"]["namespace"] == "vision-prod"}
    assert team["allow-object-store"]["egress"][0]["to"] == [
        {"ipBlock": {"cidr": "10.70.0.0/24"}}]
    assert team["allow-metadata-db"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    (deployment,) = external.of_type("kubernetes:apps/v1:Deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert "s3://art-bucket/mlflow" in container["args"]
    assert "AWS_CA_BUNDLE" not in {e["name"] for e in container["env"]}


def test_external_database_without_a_backup_bucket_is_refused_with_cloudnativepg() -> None:
    config = stack_config()
    config["mlplat:onprem"]["objectStore"] = {"external": {
        "endpoint": "https://s3.example.internal",
        "bucketNames": {"datasets": "ds", "artifacts": "art"},
        "accessKeyId": "k", "secretAccessKey": "s"}}
    with pytest.raises(ConfigError, match="needs a 'backups' bucket"):
        environment_from_stack_config(config, "stacks/Pulumi.x.yaml")
