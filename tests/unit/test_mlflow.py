"""MLflow per team: config rules (mlplat/config/mlflow.py and EnvironmentConfig), the server
(components/k8s/mlflow.py) and the platform Job that creates its database and user
(components/aws/mlflow_db.py), read from plans the real offline engine produced."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.aws.mlflow_db import SETUP_SQL, master_secret_policy
from components.k8s.mlflow import auth_config
from components.versions import AWS_CLI_IMAGE, MLFLOW_IMAGE, POSTGRES_CLIENT_IMAGE
from mlplat.config import ConfigError, MlflowPermission, environment_from_stack_config
from mlplat.plan import Plan, ResourceRecord, plan_environment
from mlplat.plan.mocks import digest

pytestmark = pytest.mark.unit

SOURCE = "stacks/Pulumi.t.yaml"
SERVER = "mlplat:k8s/mlflow:MlflowServer"
DATABASE = "mlplat:aws/mlflow_db:MlflowDatabase"
ACCESS = "mlplat:aws/team_access:TeamAccess"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PASSWORD = "random:index/randomPassword:RandomPassword"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
TEAM_NAMESPACES = {"vision-staging", "vision-staging-serving"}
PLATFORM_NAMESPACE = "mlplat-system"


def parse(config: dict[str, Any]) -> Any:
    return environment_from_stack_config(config, SOURCE)


def error_of(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(config)
    return str(caught.value)


@pytest.fixture(scope="module")
def prod_plan(demo_stack_config: dict[str, Any]) -> Plan:
    """The demo in prod with rotated credentials (version 2)."""
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:env"] = "prod"
    config["mlplat:mlflow"]["credentialsVersion"] = 2
    return plan_environment(environment_from_stack_config(config, "<test>"), "demo")


def under(plan: Plan, component: str, type_token: str) -> list[ResourceRecord]:
    return [r for r in plan.children(plan.one(component).urn) if r.type == type_token]


def pod_spec(record: ResourceRecord) -> dict[str, Any]:
    spec: dict[str, Any] = record.inputs["spec"]["template"]["spec"]
    return spec


def all_containers(record: ResourceRecord) -> list[dict[str, Any]]:
    spec = pod_spec(record)
    return [*spec.get("initContainers", []), *spec["containers"]]


def master_secret_arn(plan: Plan) -> str:
    (job,) = under(plan, DATABASE, JOB)
    (init,) = pod_spec(job)["initContainers"]
    env = {e["name"]: e.get("value") for e in init["env"]}
    arn: str = env["MASTER_SECRET_ARN"]
    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-")
    return arn


# ------------------------------------------------------------------ config


def test_demo_turns_mlflow_on_with_secure_defaults(demo_config):
    settings = parse(demo_config).mlflow
    assert settings is not None
    assert settings.namespace_in("vision-staging") == "vision-staging"
    assert settings.effective_replicas(prod=False) == 1
    assert settings.effective_replicas(prod=True) == 2
    assert settings.platform_namespace == PLATFORM_NAMESPACE
    assert settings.database_name("vision", "staging") == "vision_staging"
    demo_config["mlplat:mlflow"] = {}
    assert parse(demo_config).mlflow.default_permission is MlflowPermission.NO_PERMISSIONS


@pytest.mark.parametrize(("absent", "message"), [
    ("mlplat:metadataDb", "needs mlplat:metadataDb (its backend store), which is absent"),
    ("mlplat:tenancy", "needs mlplat:tenancy (where it runs), which is absent"),
])
def test_mlflow_needs_its_database_and_tenancy(demo_config, absent, message):
    del demo_config[absent]
    assert error_of(demo_config) == f"{SOURCE}: mlplat:mlflow: {message}"


def test_mlflow_needs_an_object_store(demo_config):
    del demo_config["mlplat:objectStore"]
    del demo_config["mlplat:tenancy"]["serviceAccounts"]  # they use buckets
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:mlflow: needs mlplat:objectStore (its artifact store), which is "
        "absent")


@pytest.mark.parametrize(("settings", "message"), [
    ({"namespace": "notebooks"},
     "mlplat:mlflow.namespace: namespace 'notebooks' is not one of tenancy.namespaces (purposes: "
     "<main>, serving)"),
    ({"platformNamespace": "vision-staging-serving"},
     "mlplat:mlflow.platformNamespace: platformNamespace (vision-staging-serving) is one of "
     "the team's own "
     "namespaces"),
    ({"artifactsPrefix": "mlflow"}, "mlplat:mlflow.artifactsPrefix: "),
    ({"replicas": 0}, "mlplat:mlflow.replicas: "),
    ({"credentialsVersion": 0}, "mlplat:mlflow.credentialsVersion: "),
    ({"defaultPermission": "ALL"}, "mlplat:mlflow.defaultPermission: "),
    ({"image": "mlflow:latest"}, "mlplat:mlflow.image: "),
])
def test_mlflow_errors_name_the_file_and_field(demo_config, settings, message):
    demo_config["mlplat:mlflow"] = settings
    assert error_of(demo_config).startswith(f"{SOURCE}: {message}")


def test_mlflow_service_account_name_is_reserved(demo_config):
    demo_config["mlplat:tenancy"]["serviceAccounts"]["mlflow"] = {}
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:mlflow: tenancy.serviceAccounts.mlflow is reserved")


def test_prod_runs_at_least_two_replicas(demo_config):
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:mlflow"]["replicas"] = 1
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:mlflow.replicas: replicas is 1; prod runs at least 2")


# ------------------------------------------------------------------ the server


def test_server_runs_the_pinned_image_behind_basic_auth_with_proxied_artifacts(
    demo_plan: Plan,
) -> None:
    (deployment,) = under(demo_plan, SERVER, DEPLOYMENT)
    (container,) = pod_spec(deployment)["containers"]
    assert container["image"] == MLFLOW_IMAGE
    for image in (MLFLOW_IMAGE, POSTGRES_CLIENT_IMAGE, AWS_CLI_IMAGE):
        tag = image.rsplit("/", 1)[1].partition(":")[2]
        assert tag and tag != "latest" and any(c.isdigit() for c in tag), image
    args = container["args"]
    assert args[:2] == ["mlflow", "server"]
    assert args[args.index("--app-name") + 1] == "basic-auth"
    assert "--serve-artifacts" in args
    (bucket,) = [r.inputs["bucket"] for r in demo_plan.of_type(
        "aws:s3/bucketVersioning:BucketVersioning") if r.name.endswith("-artifacts-versioning")]
    assert args[args.index("--artifacts-destination") + 1] == f"s3://{bucket}/mlflow"
    # The backend URI holds a password: from the Secret, never on the command line.
    assert not any("postgresql" in a or "backend-store" in a for a in args)
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow", "key": "backend-store-uri"}
    assert env["MLFLOW_AUTH_CONFIG_PATH"]["value"] == "/etc/mlflow-auth/basic_auth.ini"
    # No static AWS keys anywhere: S3 access comes from Pod Identity.
    assert not any(name.startswith("AWS_") for name in env)


def test_server_and_job_pods_run_restricted(demo_plan: Plan) -> None:
    workloads = under(demo_plan, SERVER, DEPLOYMENT) + under(demo_plan, DATABASE, JOB)
    assert len(workloads) == 2
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] > 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in all_containers(workload):
            where = f"{workload.name}/{container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}, where
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}, where
    (deployment,) = under(demo_plan, SERVER, DEPLOYMENT)
    (container,) = pod_spec(deployment)["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    (account,) = under(demo_plan, SERVER, SERVICE_ACCOUNT)
    assert account.inputs["automountServiceAccountToken"] is False
    assert pod_spec(deployment)["serviceAccountName"] == account.inputs["metadata"]["name"]


def test_service_is_cluster_internal_and_the_budget_covers_the_pods(demo_plan: Plan) -> None:
    (service,) = under(demo_plan, SERVER, SERVICE)
    assert service.inputs["spec"]["type"] == "ClusterIP"
    assert "externalIPs" not in service.inputs["spec"]
    (deployment,) = under(demo_plan, SERVER, DEPLOYMENT)
    pods = deployment.inputs["spec"]["template"]["metadata"]["labels"]
    selector = service.inputs["spec"]["selector"]
    assert selector.items() <= pods.items()
    (budget,) = under(demo_plan, SERVER, PDB)
    assert budget.inputs["spec"]["maxUnavailable"] == 1
    assert budget.inputs["spec"]["selector"]["matchLabels"].items() <= pods.items()
    for record in (service, deployment, budget):
        assert record.inputs["metadata"]["namespace"] == "vision-staging"
        assert record.inputs["metadata"]["labels"]["mlplat.io/team"] == "vision"


def test_staging_runs_one_replica_and_prod_two(demo_plan: Plan, prod_plan: Plan) -> None:
    (staging,) = under(demo_plan, SERVER, DEPLOYMENT)
    (prod,) = under(prod_plan, SERVER, DEPLOYMENT)
    assert staging.inputs["spec"]["replicas"] == 1
    assert prod.inputs["spec"]["replicas"] == 2


def test_artifacts_role_may_use_only_the_mlflow_prefix_of_the_artifacts_bucket(
    demo_plan: Plan,
) -> None:
    (policy,) = [r for r in under(demo_plan, ACCESS, ROLE_POLICY) if "-sa-mlflow-" in r.name]
    document = json.loads(policy.inputs["policy"])
    s3 = [s for s in document["Statement"] if s["Sid"] != "UseStoreKeyThroughS3"]
    (bucket,) = {s["Resource"] if isinstance(s["Resource"], str)
                 else s["Resource"][0].split("/")[0] for s in s3}
    assert bucket.startswith("arn:aws:s3:::vision-staging-artifacts")
    (objects,) = [s for s in s3 if s["Sid"] == "ReadWriteArtifacts"]
    assert objects["Resource"] == [f"{bucket}/mlflow/*"]
    assert "s3:DeleteObjectVersion" not in objects["Action"]
    (listing,) = [s for s in s3 if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["mlflow/*"]}}
    (association,) = [r for r in under(demo_plan, ACCESS, POD_IDENTITY)
                      if r.inputs["service_account"] == "mlflow"]
    assert association.inputs["namespace"] == "vision-staging"


def test_team_namespace_policies_let_the_server_reach_what_it_needs(demo_plan: Plan) -> None:
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"]
                for r in demo_plan.of_type(NETWORK_POLICY)
                if r.inputs["metadata"]["namespace"] == "vision-staging"}
    assert {"default-deny", "allow-same-namespace", "allow-from-ingress", "allow-https-egress",
            "allow-metadata-db", "allow-pod-identity-agent"} <= set(policies)
    assert policies["allow-metadata-db"]["egress"] == [{
        "to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}],
        "ports": [{"protocol": "TCP", "port": 5432}]}]


# ------------------------------------------------------------------ database and user


def test_setup_job_runs_in_the_platform_namespace_as_its_own_account(demo_plan: Plan) -> None:
    (namespace,) = under(demo_plan, DATABASE, NAMESPACE)
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == PLATFORM_NAMESPACE
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    (job,) = under(demo_plan, DATABASE, JOB)
    assert job.inputs["metadata"]["namespace"] == PLATFORM_NAMESPACE
    assert job.inputs["metadata"]["name"] == "vision-staging-db-setup-v1"
    (account,) = under(demo_plan, DATABASE, SERVICE_ACCOUNT)
    assert account.inputs["metadata"] == {**account.inputs["metadata"],
                                          "name": "vision-staging-db-setup",
                                          "namespace": PLATFORM_NAMESPACE}
    assert pod_spec(job)["serviceAccountName"] == "vision-staging-db-setup"
    (association,) = under(demo_plan, DATABASE, POD_IDENTITY)
    assert (association.inputs["namespace"], association.inputs["service_account"]) == (
        PLATFORM_NAMESPACE, "vision-staging-db-setup")
    # The pod asks for credentials only once its association exists.
    assert association.urn in job.dependencies
    (role,) = under(demo_plan, DATABASE, ROLE)
    (trust,) = json.loads(role.inputs["assume_role_policy"])["Statement"]
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] == (
        PLATFORM_NAMESPACE)
    assert trust["Condition"]["StringEquals"][
        "aws:RequestTag/kubernetes-service-account"] == "vision-staging-db-setup"
    (container,) = pod_spec(job)["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TEAM_ROLE"] == env["TEAM_DB"] == "vision_staging"
    assert env["AUTH_DB"] == "vision_staging_auth"
    assert env["PGSSLMODE"] == "require"
    volumes = {v["name"]: v for v in pod_spec(job)["volumes"]}
    assert volumes["work"]["emptyDir"]["medium"] == "Memory"


def test_only_the_setup_role_may_read_the_master_secret(demo_plan: Plan) -> None:
    arn = master_secret_arn(demo_plan)
    (instance,) = demo_plan.of_type("aws:rds/instance:Instance")
    key_arn = instance.inputs["master_user_secret_kms_key_id"]
    (policy,) = under(demo_plan, DATABASE, ROLE_POLICY)
    document = json.loads(policy.inputs["policy"])
    assert document == master_secret_policy(arn, key_arn, "eu-west-1")
    assert document["Statement"][1]["Condition"] == {"StringEquals": {
        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    readers = [r.name for r in demo_plan.of_type(ROLE_POLICY)
               if "secretsmanager:" in r.inputs["policy"]]
    assert readers == [policy.name]


def test_no_team_namespace_object_references_the_master_secret(demo_plan: Plan) -> None:
    arn = master_secret_arn(demo_plan)
    in_team = [r for r in demo_plan.managed() if r.package == "kubernetes"
               and (r.inputs.get("metadata") or {}).get("namespace") in TEAM_NAMESPACES]
    assert len(in_team) > 20
    assert any(r.type == SECRET for r in in_team)
    for record in in_team:
        text = json.dumps(record.inputs)
        assert arn not in text and "secretsmanager" not in text, record.name
        assert "mlplat_admin" not in text, record.name  # the master user's name


def test_generated_values_never_reach_the_plan(demo_plan: Plan) -> None:
    # MLflow's own (the monitoring stack's Grafana password: test_monitoring.py).
    passwords = [p for p in demo_plan.of_type(PASSWORD) if "-mlflow-" in p.name]
    assert {p.name for p in passwords} == {"vision-staging-mlflow-db-password",
                                            "vision-staging-mlflow-admin-password",
                                            "vision-staging-mlflow-session-key"}
    text = demo_plan.dumps()
    for password in passwords:
        assert password.inputs["special"] is False and password.inputs["length"] >= 32
        # What the offline engine's mocks generate for this resource (mlplat/plan/mocks.py).
        marker = digest("random", PASSWORD, password.name, length=40)
        assert marker not in text, password.name
    secrets = under(demo_plan, SERVER, SECRET) + under(demo_plan, DATABASE, SECRET)
    assert len(secrets) == 2
    assert all(s.inputs["stringData"] == "[secret]" for s in secrets)


def test_bumping_the_credentials_version_regenerates_and_reruns(prod_plan: Plan) -> None:
    (job,) = under(prod_plan, DATABASE, JOB)
    assert job.inputs["metadata"]["name"] == "vision-prod-db-setup-v2"
    for password in prod_plan.of_type(PASSWORD):
        if "-mlflow-" in password.name:
            assert password.inputs["keepers"] == {"credentials_version": "2"}


# ------------------------------------------------------------------ pure pieces


def test_setup_sql_is_idempotent_and_locks_out_public() -> None:
    assert "WHERE NOT EXISTS (SELECT FROM pg_roles" in SETUP_SQL
    assert "WHERE NOT EXISTS (SELECT FROM pg_database" in SETUP_SQL
    assert 'REVOKE ALL ON DATABASE :"db" FROM PUBLIC;' in SETUP_SQL
    assert 'REVOKE ALL ON DATABASE :"auth_db" FROM PUBLIC;' in SETUP_SQL
    # The password arrives from the environment, never on psql's command line.
    assert "\\getenv team_password TEAM_PASSWORD" in SETUP_SQL


def test_auth_config_carries_the_default_permission() -> None:
    text = auth_config(MlflowPermission.NO_PERMISSIONS, "postgresql://u:p@h:5432/d", "pw")
    lines = text.splitlines()
    assert lines[0] == "[mlflow]"
    assert "default_permission = NO_PERMISSIONS" in lines
    assert "admin_username = admin" in lines and "admin_password = pw" in lines
    assert "authorization_function = mlflow.server.auth:authenticate_request_basic_auth" in lines
