"""The team's own database and login role on the metadata database, for MLflow, created
without the master credentials ever reaching a team namespace.

A one-shot Kubernetes Job in a platform namespace (`mlflow.platformNamespace`, not the
team's) does it. Children of one `mlplat:aws/mlflow_db:MlflowDatabase`:

* the platform namespace, restricted Pod Security enforced, fenced like team namespaces
  (default deny; DNS, HTTPS, the Pod Identity agent and the database only; no ingress);
* the Job's ServiceAccount and its Pod Identity role (built by
  components/aws/team_access.pod_identity_role): `secretsmanager:GetSecretValue` on the one
  RDS-managed master secret, `kms:Decrypt` on the database key only through Secrets
  Manager. Nothing else in the cluster may read that secret;
* the team user's password, generated (pulumi_random, secret: never in the plan) and
  handed to the Job through a Secret in the platform namespace;
* the Job: an AWS CLI init container reads the master secret into a memory-backed
  emptyDir, then psql creates (idempotently) the login role `<team>_<env>` with that
  password, the databases `<team>_<env>` (tracking, registry) and `<team>_<env>_auth`
  (basic-auth users) owned by it, and revokes PUBLIC's access to both. TLS is required.
  Its name carries `credentialsVersion`: bumping it generates a new password and runs a new
  Job (rotation by re-running).

Why a password and not IAM database authentication: MLflow takes a fixed SQLAlchemy URI,
and IAM tokens expire after 15 minutes (docs/components/mlflow.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components._lib.log_group import account_context
from components._lib.naming import Tagger
from components._lib.policies import PolicyDocument
from components.aws.team_access import PodIdentityCluster, pod_identity_role
from components.k8s.mlflow import (
    SECRET_LENGTH,
    container_security_context,
    pod_security_context,
)
from components.k8s.tenancy import EgressAllowance, fence_policy_specs, pod_security_labels
from components.versions import AWS_CLI_IMAGE, POSTGRES_CLIENT_IMAGE
from mlplat.config import MlflowConfig, PodSecurityLevel

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/mlflow_db:MlflowDatabase"

#: Suffix of the basic-auth database (users and permissions) beside the tracking database.
AUTH_DATABASE_SUFFIX = "_auth"
#: The postgres image's own unprivileged user.
POSTGRES_UID = 70
#: Where the init container leaves the master secret for psql (memory-backed emptyDir).
WORK_DIR = "/work"
SCRIPT_DIR = "/script"

#: psql script run against the `postgres` database as the master user. Idempotent: a re-run
#: (rotation) only sets the new password. Values arrive as psql variables, quoted by psql.
SETUP_SQL = r"""
\getenv team_password TEAM_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'team_password';
GRANT :"role" TO CURRENT_USER;
SELECT format('CREATE DATABASE %I OWNER %I', d, :'role')
  FROM unnest(ARRAY[:'db', :'auth_db']) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"auth_db" FROM PUBLIC;
"""

#: Shell of the psql container: the master password out of the secret's JSON (RDS-generated
#: passwords contain no `"`), then the script; the secret file is removed before psql runs.
SETUP_SHELL = (
    "set -eu\n"
    f'PGPASSWORD="$(sed -n \'s/.*"password" *: *"\\([^"]*\\)".*/\\1/p\' {WORK_DIR}/master.json)"\n'
    "export PGPASSWORD\n"
    f"rm -f {WORK_DIR}/master.json\n"
    'psql -v ON_ERROR_STOP=1 -v role="$TEAM_ROLE" -v db="$TEAM_DB" -v auth_db="$AUTH_DB" '
    f"-f {SCRIPT_DIR}/setup.sql\n"
)


@dataclass(frozen=True)
class MlflowDatabaseArgs:
    """Inputs of MlflowDatabase, from validated config and the MetadataDb outputs."""

    settings: MlflowConfig
    """The validated `mlplat:mlflow` block."""
    cluster: PodIdentityCluster
    """The environment's cluster (its `environment` prefixes the Job's names)."""
    role_name: str
    """Login role and database name `<team>_<env>`."""
    labels: Mapping[str, str]
    """Ownership labels of the Job's objects (ADR 0004)."""
    kubernetes_version: str
    """Minor version of the cluster; pins the Pod Security version of the Job's namespace."""
    db_address: pulumi.Input[str]
    """Host name of the metadata database."""
    db_port: pulumi.Input[int]
    """Its port (5432)."""
    master_username: str
    """The master login the Job uses to create the team's role and database."""
    master_secret_arn: pulumi.Input[str]
    """Secrets Manager secret of the master password (read by the Job, never by the team)."""
    db_key_arn: pulumi.Input[str]
    """Customer key encrypting the master secret."""
    egress: Sequence[EgressAllowance]
    """What the Job's pods may reach besides DNS and HTTPS (the database, Pod Identity)."""
    tags: Mapping[str, str]
    """Tags of the Job's IAM role."""
    owns_namespace: bool = True
    """False in shared mode: the platform stack owns `settings.platform_namespace` and its
    NetworkPolicies (many tenants' Jobs run there); this component only adds the team's
    Job, its service account, role, Secret and script."""


def platform_namespace(resource_name: str, namespace: str, kubernetes_version: str,
                       opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """The platform namespace setup Jobs run in: restricted Pod Security enforced, kept on
    delete (another stack may still use it)."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata={"name": namespace, "labels": {
            "app.kubernetes.io/managed-by": "mlplat",
            **pod_security_labels(PodSecurityLevel.RESTRICTED, kubernetes_version),
        }},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )


def master_secret_policy(secret_arn: str, key_arn: str, region: str) -> PolicyDocument:
    """The setup Job's only permissions: read the one master secret, decrypt it with its
    key only on behalf of Secrets Manager in this region."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadMasterSecret", "Effect": "Allow",
             "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
            {"Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": "kms:Decrypt",
             "Resource": key_arn,
             "Condition": {"StringEquals": {
                 "kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}},
        ],
    }


def postgres_uri(user: str, password: str, address: str, port: int, database: str) -> str:
    """SQLAlchemy URI with TLS required (the parameter group refuses anything else)."""
    return f"postgresql://{user}:{password}@{address}:{int(port)}/{database}?sslmode=require"


class MlflowDatabase(pulumi.ComponentResource):
    """Database, login role and password of the team's MLflow, made by a platform Job.
    Pass the AWS provider in `opts.providers` together with the cluster's Kubernetes
    provider."""

    backend_store_uri: pulumi.Output[str]
    """Secret URI of the tracking database."""
    auth_database_uri: pulumi.Output[str]
    """Secret URI of the basic-auth database."""
    job_name: str

    def __init__(
        self, name: str, args: MlflowDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        platform = settings.platform_namespace
        environment = args.cluster.environment
        account_name = f"{environment}-db-setup"
        auth_db = f"{args.role_name}{AUTH_DATABASE_SUFFIX}"
        labels = dict(args.labels)

        namespace_name: pulumi.Input[str] = platform
        if args.owns_namespace:
            namespace_name = platform_namespace(
                f"{name}-namespace", platform, args.kubernetes_version,
                pulumi.ResourceOptions(parent=self)).metadata.name

        def meta(object_name: str) -> dict[str, Any]:
            return {"name": object_name, "namespace": namespace_name, "labels": labels}

        for policy_name, spec in fence_policy_specs(args.egress).items():
            if not args.owns_namespace:
                break  # the namespace's owner fences it, for every tenant's Job alike
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}", metadata=meta(f"{environment}-{policy_name}"),
                spec=spec, opts=child,
            )

        tag = Tagger(args.tags, name)
        where = account_context(pulumi.InvokeOutputOptions(parent=self))
        association = pod_identity_role(
            self, name, args.cluster, platform, account_name,
            policy=pulumi.Output.all(args.master_secret_arn, args.db_key_arn, where.region)
            .apply(lambda v: json.dumps(master_secret_policy(v[0], v[1], v[2]))),
            tag=tag,
            aws_account=where.account,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta(account_name),
            automount_service_account_token=False, opts=child,
        )
        password = random.RandomPassword(
            f"{name}-password", length=SECRET_LENGTH, special=False,
            keepers={"credentialsVersion": str(settings.credentials_version)}, opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-secret", metadata=meta(account_name), type="Opaque",
            string_data={"password": password.result}, opts=child,
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-script", metadata=meta(account_name),
            data={"setup.sql": SETUP_SQL}, opts=child,
        )
        self.job_name = f"{account_name}-v{settings.credentials_version}"
        work = {"name": "work", "mountPath": WORK_DIR}
        resources = {"requests": {"cpu": "50m", "memory": "64Mi"},
                     "limits": {"cpu": "500m", "memory": "256Mi"}}
        k8s.batch.v1.Job(
            f"{name}-job",
            metadata=meta(self.job_name),
            spec={
                "backoffLimit": 4,
                "activeDeadlineSeconds": 900,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": account.metadata.name,
                        "automountServiceAccountToken": False,
                        "restartPolicy": "Never",
                        "securityContext": pod_security_context(POSTGRES_UID),
                        "initContainers": [{
                            "name": "read-master-secret",
                            "image": AWS_CLI_IMAGE,
                            "imagePullPolicy": "Always",
                            "command": ["/bin/sh", "-c",
                                        "aws secretsmanager get-secret-value "
                                        '--secret-id "$MASTER_SECRET_ARN" '
                                        "--query SecretString --output text "
                                        f"> {WORK_DIR}/master.json"],
                            "env": [
                                {"name": "MASTER_SECRET_ARN", "value": args.master_secret_arn},
                                {"name": "AWS_REGION", "value": where.region},
                                {"name": "HOME", "value": "/tmp"},
                            ],
                            "resources": resources,
                            "securityContext": container_security_context(),
                            "volumeMounts": [work, {"name": "tmp", "mountPath": "/tmp"}],
                        }],
                        "containers": [{
                            "name": "create-database",
                            "image": POSTGRES_CLIENT_IMAGE,
                            "imagePullPolicy": "Always",
                            "command": ["/bin/sh", "-c", SETUP_SHELL],
                            "env": [
                                {"name": "PGHOST", "value": args.db_address},
                                {"name": "PGPORT", "value": pulumi.Output.from_input(
                                    args.db_port).apply(lambda p: str(int(p)))},
                                {"name": "PGUSER", "value": args.master_username},
                                {"name": "PGDATABASE", "value": "postgres"},
                                {"name": "PGSSLMODE", "value": "require"},
                                {"name": "TEAM_ROLE", "value": args.role_name},
                                {"name": "TEAM_DB", "value": args.role_name},
                                {"name": "AUTH_DB", "value": auth_db},
                                {"name": "TEAM_PASSWORD", "valueFrom": {"secretKeyRef": {
                                    "name": secret.metadata.name, "key": "password"}}},
                            ],
                            "resources": resources,
                            "securityContext": container_security_context(),
                            "volumeMounts": [work,
                                             {"name": "script", "mountPath": SCRIPT_DIR,
                                              "readOnly": True}],
                        }],
                        "volumes": [
                            # Memory-backed: the master password never touches a node disk.
                            {"name": "work", "emptyDir": {"medium": "Memory",
                                                          "sizeLimit": "1Mi"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                            {"name": "script", "configMap": {"name": script.metadata.name}},
                        ],
                    },
                },
            },
            # Pods asking for credentials before the association exists get none.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[association],
                                        custom_timeouts=pulumi.CustomTimeouts(create="15m")),
        )

        def uri(database: str) -> pulumi.Output[str]:
            return pulumi.Output.secret(
                pulumi.Output.all(password.result, args.db_address, args.db_port).apply(
                    lambda v: postgres_uri(args.role_name, v[0], v[1], v[2], database))
            )

        self.backend_store_uri = uri(args.role_name)
        self.auth_database_uri = uri(auth_db)
        self.register_outputs({"job_name": self.job_name})
