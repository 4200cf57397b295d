"""The `mlplat:mlflow` layer: an MLflow tracking server and model registry per team
environment, in one of the team's namespaces.

Off when absent; `{}` gives the defaults below. It needs `mlplat:metadataDb` (its backend
store), `mlplat:objectStore` with an `artifacts` bucket (its artifact store) and
`mlplat:tenancy` (the namespace it runs in); EnvironmentConfig checks those rules. Design,
database automation and the authentication choice: docs/components/mlflow.md.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from mlplat.config.base import DnsLabel, _Model
from mlplat.config.tenancy import NamespacePurpose, Quantity, S3Prefix

#: The object store bucket purpose MLflow stores artifacts in.
ARTIFACTS_PURPOSE = "artifacts"
#: Service account of the MLflow server (in the team namespace); reserved in tenancy.
MLFLOW_SERVICE_ACCOUNT = "mlflow"
#: Replicas of the server in prod (spread by the PodDisruptionBudget).
PROD_REPLICAS = 2


class MlflowPermission(StrEnum):
    """Permission a signed-in user has on experiments and models nobody granted them."""

    NO_PERMISSIONS = "NO_PERMISSIONS"
    READ = "READ"
    EDIT = "EDIT"
    MANAGE = "MANAGE"


class MlflowConfig(_Model):
    """MLflow behind its built-in basic-auth app, PostgreSQL backend, S3 artifacts."""

    namespace: NamespacePurpose | None = Field(
        default=None,
        description="Purpose of the team namespace the server runs in (one of "
        "`tenancy.namespaces[].purpose`); absent: the main namespace `<team>-<env>`.",
    )
    replicas: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description=f"Server replicas. Defaults to {PROD_REPLICAS} in prod and 1 elsewhere; "
        f"fewer than {PROD_REPLICAS} in prod is refused.",
    )
    artifacts_prefix: S3Prefix = Field(
        default="mlflow/",
        description="Key prefix in the `artifacts` bucket; the server's IAM role may use only "
        "keys under it. Ends with `/`.",
    )
    default_permission: MlflowPermission = Field(
        default=MlflowPermission.NO_PERMISSIONS,
        description="What a signed-in user may do on experiments and models nobody granted "
        "them: `NO_PERMISSIONS` (default: the admin grants access), `READ`, `EDIT`, `MANAGE`.",
    )
    credentials_version: int = Field(
        default=1,
        ge=1,
        description="Bump to rotate the database password and the admin password: new "
        "values are generated and the database setup Job runs again.",
    )
    platform_namespace: DnsLabel = Field(
        default="mlplat-system",
        description="Platform namespace (not the team's) where the one-shot Job that creates "
        "the team's database and user runs; only its service account may read the database "
        "master secret.",
    )
    cpu_request: Quantity = Field(default="250m", description="CPU request per replica.")
    memory_request: Quantity = Field(default="512Mi", description="Memory request per replica.")
    cpu_limit: Quantity = Field(default="1", description="CPU limit per replica.")
    memory_limit: Quantity = Field(default="1Gi", description="Memory limit per replica.")

    def effective_replicas(self, prod: bool) -> int:
        """Explicit setting, else two in prod and one elsewhere."""
        if self.replicas is not None:
            return self.replicas
        return PROD_REPLICAS if prod else 1

    def namespace_in(self, environment: str) -> str:
        """Name of the namespace the server runs in."""
        return environment if self.namespace is None else f"{environment}-{self.namespace}"

    def database_name(self, team: str, env: str) -> str:
        """PostgreSQL database and login role of the server: `<team>_<env>`."""
        return f"{team}_{env}".replace("-", "_")
