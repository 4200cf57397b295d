"""MLflow tracking server and model registry of one team, in a team namespace.

Provider-neutral: the backend store arrives as a (secret) PostgreSQL URI and the artifact
store as an `s3://` destination; how the database, its user and the bucket credentials come
to exist is the substrate's business (on AWS: components/aws/mlflow_db.py and the Pod
Identity role of the `mlflow` service account, built by components/aws/team_access.py;
on-prem: components/compositions/onprem.py, with static keys in a Secret, `static_s3`).

Children of one `mlplat:k8s/mlflow:MlflowServer`:

* generated secrets (pulumi_random, marked secret: no value in the plan or the state's
  plain text): the basic-auth admin password and the Flask session key, regenerated when
  `credentials_version` changes;
* a Secret with the backend store URI, the basic-auth config file and the session key;
* the `mlflow` ServiceAccount (no Kubernetes API token mounted: the server never calls the
  API; Pod Identity mounts its own token);
* a Deployment of the pinned image running `mlflow server --app-name basic-auth
  --serve-artifacts --artifacts-destination s3://...`: every request but `/health` and
  static files needs a signed-in user, clients never get S3 credentials. Non-root,
  read-only root file system (an emptyDir for /tmp), no privilege escalation, all
  capabilities dropped, RuntimeDefault seccomp, requests and limits, readiness and liveness
  probes on `/health`, replicas spread over nodes;
* a ClusterIP Service (never a LoadBalancer or NodePort) and a PodDisruptionBudget.

The team namespace's NetworkPolicies (components/k8s/tenancy.py) already allow what the
server needs: ingress from its namespace and the ingress controller's, egress to DNS, HTTPS
(S3), the Pod Identity agent and the metadata database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.versions import MLFLOW_IMAGE
from mlplat.config import MLFLOW_SERVICE_ACCOUNT, MlflowConfig, MlflowPermission

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/mlflow:MlflowServer"

#: Port the server listens on inside the pod, and the Service's port.
SERVER_PORT = 5000
SERVICE_PORT = 80
#: Name of the Deployment, Service, Secret and the `app.kubernetes.io/name` label.
APP_NAME = "mlflow"
ADMIN_USERNAME = "admin"
#: Where the basic-auth config file is mounted (MLFLOW_AUTH_CONFIG_PATH).
AUTH_CONFIG_DIR = "/etc/mlflow-auth"
AUTH_CONFIG_FILE = "basic_auth.ini"
#: Unprivileged user and group the server runs as (the image's files are world-readable).
RUN_AS = 10001
#: Generated secrets: long, and alphanumeric so they need no escaping in a URI or INI file.
SECRET_LENGTH = 40


@dataclass(frozen=True)
class MlflowServerArgs:
    """Inputs of MlflowServer, from validated config (mlplat.config.MlflowConfig)."""

    settings: MlflowConfig
    """The validated `mlplat:mlflow` block."""
    namespace: str
    """Team namespace the server runs in (created by the tenancy component)."""
    labels: Mapping[str, str]
    """Ownership labels of the team stack (ADR 0004)."""
    replicas: int
    """Server replicas (2 in prod, behind a PodDisruptionBudget)."""
    backend_store_uri: pulumi.Input[str]
    """Secret PostgreSQL URI of the tracking and registry data."""
    auth_database_uri: pulumi.Input[str]
    """Secret PostgreSQL URI of basic-auth's users and permissions."""
    artifacts_destination: pulumi.Input[str]
    """`s3://<artifacts bucket>/<prefix>`; the service account's role may use only it."""
    static_s3: StaticS3Access | None = None
    """On-prem: static credentials for an S3-compatible endpoint. None on AWS, where the
    `mlflow` service account's Pod Identity role supplies credentials."""


@dataclass(frozen=True)
class StaticS3Access:
    """An S3-compatible endpoint reached with static keys (MinIO issues no short-lived
    credentials to pods), held in a Secret of the server's namespace."""

    endpoint_url: str
    """`https://` URL of the S3 API."""
    credentials_secret: pulumi.Input[str]
    """Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`."""
    region: str
    ca_secret: pulumi.Input[str] | None = None
    """Secret whose `ca.crt` signs the endpoint's certificate (None: system trust store)."""


#: Where the S3 endpoint's CA certificate is mounted (AWS_CA_BUNDLE), with static S3 access.
S3_CA_DIR = "/etc/mlflow-s3-ca"


def static_s3_env(access: StaticS3Access) -> list[dict[str, Any]]:
    """Environment of a container that reaches an S3-compatible endpoint with static keys:
    the keys by reference to their Secret (never as values), the endpoint, the region and,
    when the endpoint's CA is private, the bundle boto3 verifies it with."""
    def key(name: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {
            "name": access.credentials_secret, "key": name}}}

    env = [key("AWS_ACCESS_KEY_ID"), key("AWS_SECRET_ACCESS_KEY"),
           {"name": "MLFLOW_S3_ENDPOINT_URL", "value": access.endpoint_url},
           {"name": "AWS_DEFAULT_REGION", "value": access.region}]
    if access.ca_secret is not None:
        env.append({"name": "AWS_CA_BUNDLE", "value": f"{S3_CA_DIR}/ca.crt"})
    return env


def auth_config(permission: MlflowPermission, database_uri: str, admin_password: str) -> str:
    """MLflow basic-auth's INI file. The admin user is created from it on first start."""
    return "\n".join([
        "[mlflow]",
        f"default_permission = {permission.value}",
        f"database_uri = {database_uri}",
        f"admin_username = {ADMIN_USERNAME}",
        f"admin_password = {admin_password}",
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
        "",
    ])


def server_args(artifacts_destination: str) -> list[str]:
    """Command line of the server. The backend store URI (it holds a password) comes from
    the environment (MLFLOW_BACKEND_STORE_URI), never from the command line."""
    return [
        "mlflow", "server",
        "--host", "0.0.0.0",
        "--port", str(SERVER_PORT),
        "--app-name", "basic-auth",
        "--serve-artifacts",
        "--artifacts-destination", artifacts_destination,
    ]


def container_security_context() -> dict[str, Any]:
    """What every container mlplat runs gets: no root, no new privileges, no capabilities,
    nothing writable but the volumes it mounts."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def pod_security_context(user: int) -> dict[str, Any]:
    """Pod-level half of the restricted Pod Security Standard, with a numeric user (the
    kubelet can check `runAsNonRoot` only against a numeric user)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


class MlflowServer(pulumi.ComponentResource):
    """The team's MLflow server behind basic-auth, reachable only inside the cluster. Pass
    the cluster's Kubernetes provider in `opts.providers`."""

    service_name: str
    """ClusterIP Service; `http://mlflow.<namespace>.svc` inside the cluster."""
    admin_password: pulumi.Output[str]
    """Secret: the basic-auth admin's initial password."""

    def __init__(
        self, name: str, args: MlflowServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        keepers = {"credentialsVersion": str(settings.credentials_version)}
        admin = random.RandomPassword(
            f"{name}-admin-password", length=SECRET_LENGTH, special=False, keepers=keepers,
            opts=child,
        )
        session_key = random.RandomPassword(
            f"{name}-session-key", length=SECRET_LENGTH, special=False, keepers=keepers,
            opts=child,
        )
        selector = {"app.kubernetes.io/name": APP_NAME,
                    "app.kubernetes.io/instance": args.namespace}
        labels = {**args.labels, **selector}

        def meta(object_name: str) -> dict[str, Any]:
            return {"name": object_name, "namespace": args.namespace, "labels": labels}

        auth_ini: pulumi.Output[str] = pulumi.Output.all(
            args.auth_database_uri, admin.result
        ).apply(lambda v: auth_config(settings.default_permission, v[0], v[1]))
        auth_secret: pulumi.Output[str] = pulumi.Output.secret(auth_ini)
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=meta(APP_NAME),
            type="Opaque",
            string_data={
                "backend-store-uri": pulumi.Output.secret(args.backend_store_uri),
                AUTH_CONFIG_FILE: auth_secret,
                "flask-secret-key": session_key.result,
            },
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta(MLFLOW_SERVICE_ACCOUNT),
            automount_service_account_token=False,
            opts=child,
        )
        def from_secret(key: str) -> dict[str, Any]:
            return {"secretKeyRef": {"name": secret.metadata.name, "key": key}}

        probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10,
                 "timeoutSeconds": 5}
        container: dict[str, Any] = {
            "name": APP_NAME,
            "image": MLFLOW_IMAGE,
            # Pull on every start: the registry re-checks credentials and a re-pushed tag
            # cannot hide behind a node's cached copy.
            "imagePullPolicy": "Always",
            "args": pulumi.Output.from_input(args.artifacts_destination).apply(server_args),
            "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
            "env": [
                {"name": "MLFLOW_BACKEND_STORE_URI", "valueFrom": from_secret("backend-store-uri")},
                {"name": "MLFLOW_FLASK_SERVER_SECRET_KEY",
                 "valueFrom": from_secret("flask-secret-key")},
                {"name": "MLFLOW_AUTH_CONFIG_PATH",
                 "value": f"{AUTH_CONFIG_DIR}/{AUTH_CONFIG_FILE}"},
                # Python and gunicorn write caches and worker files under HOME and /tmp.
                {"name": "HOME", "value": "/tmp"},
            ],
            "resources": {
                "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
                "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
            },
            # Schema migrations on first start take a while; the startup probe covers them so
            # the liveness probe can stay strict afterwards.
            "startupProbe": {**probe, "failureThreshold": 30},
            "readinessProbe": {**probe, "failureThreshold": 3},
            "livenessProbe": {**probe, "failureThreshold": 6},
            "securityContext": container_security_context(),
            "volumeMounts": [
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "auth-config", "mountPath": AUTH_CONFIG_DIR, "readOnly": True},
            ],
        }
        volumes: list[dict[str, Any]] = [
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "auth-config", "secret": {
                "secretName": secret.metadata.name,
                "items": [{"key": AUTH_CONFIG_FILE, "path": AUTH_CONFIG_FILE}],
                "defaultMode": 0o440,
            }},
        ]
        if args.static_s3 is not None:
            container["env"] += static_s3_env(args.static_s3)
            if args.static_s3.ca_secret is not None:
                container["volumeMounts"].append(
                    {"name": "s3-ca", "mountPath": S3_CA_DIR, "readOnly": True})
                volumes.append({"name": "s3-ca", "secret": {
                    "secretName": args.static_s3.ca_secret,
                    "items": [{"key": "ca.crt", "path": "ca.crt"}], "defaultMode": 0o444}})
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(APP_NAME),
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": account.metadata.name,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(RUN_AS),
                        "containers": [container],
                        "volumes": volumes,
                        "topologySpreadConstraints": [{
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }],
                    },
                },
            },
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(APP_NAME),
            spec={
                # Inside the cluster only; people reach it by port-forward or an internal
                # ingress (docs/components/mlflow.md).
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http",
                           "protocol": "TCP"}],
            },
            opts=child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta(APP_NAME),
            # One pod at a time: with two replicas one keeps serving through a node drain,
            # and a single replica can still be evicted (minAvailable would block drains).
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=child,
        )
        self.service_name = APP_NAME
        self.admin_password = pulumi.Output.secret(admin.result)
        self.register_outputs({"service_name": self.service_name,
                               "service": service.metadata.name})
